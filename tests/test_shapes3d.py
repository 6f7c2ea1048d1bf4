"""The 3-D shapes world pinned to DESIGN.md's text: each category's parts, proportions and normalisation, area-uniform
points, determinism by seed."""

import numpy as np
import pytest

from engines.data import shapes3d as S

R = 0.0025  # a facetted cylinder's bounding box is within r (1 - cos(pi / 48)) < 0.0025 of the smooth one's


def close(a, b, tol=1e-6):
    return np.allclose(np.asarray(a, float), np.asarray(b, float), atol=tol)


@pytest.mark.parametrize("category", S.CATEGORIES)
def test_every_object_is_centred_and_its_farthest_point_at_distance_one(category):
    for s in S.shapes(category, 8, seed=3):
        v = s.mesh.vertices
        assert close(v.min(0) + v.max(0), 0, 1e-9)  # centred at its bounding box's centre
        assert np.linalg.norm(v, axis=1).max() == pytest.approx(1.0)


def test_chair_parts_sit_where_the_spec_puts_them():
    for s in S.shapes("chair", 10, seed=1):
        p = s.params
        W, D, Hs, Hb, r = p["W"], p["D"], p["Hs"], p["Hb"], p["r"]
        assert 0.8 <= W <= 1.2 and 0.8 <= D <= 1.2 and 0.8 <= Hs <= 1.1 and 0.8 <= Hb <= 1.2 and 0.04 <= r <= 0.07
        assert close(s.part_bounds("seat"), [[-W / 2, Hs - 0.1, -D / 2], [W / 2, Hs, D / 2]])
        assert close(s.part_bounds("back"), [[-W / 2, Hs, -D / 2], [W / 2, Hs + Hb, -D / 2 + 0.1]])
        legs = s.part_bounds("leg")  # the four together: axes 0.1 in from the seat's sides, floor to underside
        assert close(legs, [[-(W / 2 - 0.1) - r, 0, -(D / 2 - 0.1) - r], [W / 2 - 0.1 + r, Hs - 0.1, D / 2 - 0.1 + r]],
                     R)


def test_table_top_and_legs():
    for s in S.shapes("table", 10, seed=1):
        p = s.params
        L, D, T, Ht, r = p["L"], p["D"], p["T"], p["Ht"], p["r"]
        assert 1.6 <= L <= 2.4 and 0.9 <= D <= 1.4 and 0.06 <= T <= 0.1 and 0.9 <= Ht <= 1.2 and 0.05 <= r <= 0.08
        assert close(s.part_bounds("top"), [[-L / 2, Ht - T, -D / 2], [L / 2, Ht, D / 2]])
        assert close(s.part_bounds("leg"), [[-(L / 2 - 0.1) - r, 0, -(D / 2 - 0.1) - r],
                                            [L / 2 - 0.1 + r, Ht - T, D / 2 - 0.1 + r]], R)
        assert "back" not in s.parts


def test_lamp_base_pole_and_open_shade():
    for s in S.shapes("lamp", 10, seed=1):
        p = s.params
        assert close(s.part_bounds("base"), [[-p["rb"], 0, -p["rb"]], [p["rb"], 0.08, p["rb"]]], R)
        assert close(s.part_bounds("pole"), [[-p["rp"], 0, -p["rp"]], [p["rp"], p["Hp"], p["rp"]]], R)
        rb = p["r_bottom"]
        assert close(s.part_bounds("shade"), [[-rb, p["Hp"] - p["h"], -rb], [rb, p["Hp"], rb]], R)
        assert 0.12 <= p["r_top"] <= 0.2 < 0.35 <= rb <= 0.5
    shade = S.frustum_side(0.4, 0.15, 0.0, 0.4)
    slant = np.hypot(0.4 - 0.15, 0.4)
    assert shade.area == pytest.approx(np.pi * (0.4 + 0.15) * slant, rel=2e-3)  # the side only: no caps


def test_mug_is_open_at_the_top_with_a_vertical_handle():
    for s in S.shapes("mug", 10, seed=1):
        p = s.params
        R_, H, a, b = p["R"], p["H"], p["major"], p["minor"]
        assert close(s.part_bounds("side"), [[-R_, 0, -R_], [R_, H, R_]], R)
        assert close(s.part_bounds("bottom"), [[-R_, 0, -R_], [R_, 0, R_]], R)
        # the ring in the x-y plane around (R, H/2, 0): x and y span the major + minor radius, z the minor
        assert close(s.part_bounds("handle"), [[R_ - a - b, H / 2 - a - b, -b], [R_ + a + b, H / 2 + a + b, b]],
                     (a + b) * 0.01)
    side = S.frustum_side(0.5, 0.5, 0.0, 1.0)
    assert side.area == pytest.approx(2 * np.pi * 0.5, rel=2e-3) and not side.is_watertight


def test_airplane_fuselage_nose_wings_tail_and_fin():
    for s in S.shapes("airplane", 10, seed=1):
        p = s.params
        Lf, Rf, cw, ct, hf = p["Lf"], p["Rf"], p["cw"], p["ct"], p["hf"]
        assert close(s.part_bounds("fuselage"), [[-Lf / 2, 1 - Rf, -Rf], [Lf / 2, 1 + Rf, Rf]], R)
        assert close(s.part_bounds("nose"), [[Lf / 2, 1 - Rf, -Rf], [Lf / 2 + p["Ln"], 1 + Rf, Rf]], R)
        xw = p["xw"] * Lf
        assert close(s.part_bounds("wings"), [[xw - cw / 2, 0.98, -p["span"] / 2], [xw + cw / 2, 1.02, p["span"] / 2]])
        assert close(s.part_bounds("tailplane"), [[-Lf / 2, 0.98, -p["span_t"] / 2],
                                                  [-Lf / 2 + ct, 1.02, p["span_t"] / 2]])
        assert close(s.part_bounds("fin"), [[-Lf / 2, 1 + Rf, -0.02], [-Lf / 2 + 0.25, 1 + Rf + hf, 0.02]])


def test_points_are_uniform_by_area_over_every_part():
    s = S.shapes("chair", 1, seed=5)[0]
    scale, center = s.params["scale"], np.array([s.params["cx"], s.params["cy"], s.params["cz"]])
    below = s.params["Hs"] - 0.1 - 1e-6  # below the seat's underside there is nothing but the legs (less their tops)
    face_y = s.mesh.triangles_center[:, 1] / scale + center[1]
    expect = s.mesh.area_faces[face_y < below].sum() / s.mesh.area
    assert {s.parts[i] for i in np.flatnonzero(face_y < below)} == {"leg"}
    assert 0.02 < expect < 0.2
    pts = S.sample_surface(s.mesh, 40000, np.random.default_rng(0))
    share = (pts[:, 1] / scale + center[1] < below).mean()
    assert share == pytest.approx(expect, abs=3 * np.sqrt(expect / 40000))  # three binomial standard deviations


def test_clouds_are_deterministic_by_seed_and_have_2048_points():
    a, b, c = S.point_clouds("mug", 3, 7), S.point_clouds("mug", 3, 7), S.point_clouds("mug", 3, 8)
    assert a.shape == (3, 2048, 3) and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.allclose(a, c)
    assert not np.allclose(S.point_clouds("chair", 1, 7), S.point_clouds("table", 1, 7)[:, :, :])
