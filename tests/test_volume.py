"""The volume renderer (engines/core/volume.py) against closed forms, and DreamFusion's objects (engines/data/objects3d.py)
against their volumes."""

from __future__ import annotations

import math

import pytest
import torch

from engines.core import volume as V
from engines.data import objects3d as o3


def test_a_uniform_spheres_opacity_is_one_minus_exp_of_density_times_chord():
    sigma0, rho = 2.0, 0.8

    def sphere(p):
        return sigma0 * (p.norm(dim=-1) < rho).float(), torch.ones(p.shape[0], 3)

    cam = V.Camera(30.0, 20.0, 3.0, 40.0, 24)
    r = V.render(sphere, cam, n_samples=1024, bound=1.0)
    o, d = cam.rays()
    b = torch.linalg.cross(o, d).norm(dim=-1)  # each ray's distance from the centre
    chord = 2 * (rho**2 - b**2).clamp(min=0).sqrt()
    expected = 1 - torch.exp(-sigma0 * chord)
    assert (expected > 0.5).sum() > 50 and (expected == 0).sum() > 50  # rays through and past the sphere
    assert float((r.opacity - expected).abs().max()) < 0.02


def test_trilinear_grid_reproduces_a_linear_field_on_the_right_axes():
    res, bound = 9, 1.0
    pts = o3.grid_points(res, bound)  # (res, res, res, 3) indexed [x, y, z]
    a = torch.tensor([0.3, -0.7, 1.1])
    raw = 2.0 + pts @ a  # softplus is monotone: read back through its inverse
    field = V.grid_field(raw, torch.zeros(3, res, res, res), bound)
    q = torch.rand(500, 3) * 1.8 - 0.9
    sigma, albedo = field(q)
    back = torch.log(torch.expm1(sigma))
    assert float((back - (2.0 + q @ a)).abs().max()) < 1e-4
    assert torch.allclose(albedo, torch.full_like(albedo, 0.5))
    outside, _ = field(torch.tensor([[1.2, 0.0, 0.0]]))
    assert float(outside) == 0.0


def test_cameras_look_at_the_origin_from_azimuth_and_elevation():
    eye = V.Camera(0.0, 0.0).eye()
    assert torch.allclose(eye, torch.tensor([0.0, 0.0, 3.0]), atol=1e-6)  # azimuth 0: the front, +z
    assert torch.allclose(V.Camera(90.0, 0.0).eye(), torch.tensor([3.0, 0.0, 0.0]), atol=1e-6)
    assert torch.allclose(V.Camera(0.0, 90.0).eye(), torch.tensor([0.0, 3.0, 0.0]), atol=1e-6)
    o, d = V.Camera(0.0, 0.0, size=4).rays()
    centre = d.reshape(4, 4, 3)[1:3, 1:3].mean((0, 1))
    assert torch.allclose(centre / centre.norm(), torch.tensor([0.0, 0.0, -1.0]), atol=1e-6)
    top_left = d.reshape(4, 4, 3)[0, 0]
    assert top_left[1] > 0 and top_left[0] < 0  # up and to the left (x is to the right seen from the front)


def test_lambertian_shading_lights_the_side_facing_the_light():
    raw, albedo = o3.voxelise(o3.Object3D("ball", "white", (0.9, 0.9, 0.9), 0.0))
    field = V.grid_field(raw, albedo, o3.BOUND)
    r = V.render(field, V.Camera(0.0, 0.0, size=16), 48, o3.BOUND, torch.zeros(3), "lambertian",
                 V.Light((1.0, 0.0, 0.0)))
    img = r.image(16).mean(0)  # (16, 16)
    assert float(img[8, 11:14].mean()) > float(img[8, 2:5].mean()) + 0.2  # lit on the right (+x), dark on the left
    assert float(r.opacity.reshape(16, 16)[8, 8]) > 0.99 and float(r.opacity.reshape(16, 16)[0, 0]) < 0.01
    assert V.orientation_loss(r) < 0.05  # a solid ball's normals face the camera where it is seen


@pytest.mark.parametrize("kind, volume", [("ball", 4 / 3 * math.pi), ("cube", (2 / math.sqrt(3)) ** 3),
                                          ("cylinder", 2 * math.pi * o3.CYLINDER_R**3),
                                          ("cone", 2 / 3 * math.pi * o3.CONE_R**3),
                                          ("ring", 2 * math.pi**2 * o3.RING_R * o3.RING_r**2)])
def test_each_object_has_its_volume_and_reaches_distance_one(kind, volume):
    p = torch.rand(400_000, 3, generator=torch.Generator().manual_seed(0)) * 2.2 - 1.1
    d = o3.sdf(kind, p, 37.0)
    assert abs(float((d < 0).float().mean()) * 2.2**3 - volume) < 0.02 * volume + 0.01
    surface = p[d.abs() < 0.01]
    assert 0.98 < float(surface.norm(dim=-1).max()) < 1.02


def test_only_the_cube_changes_under_a_rotation_about_y():
    p = torch.rand(20_000, 3) * 2.2 - 1.1
    for kind in o3.OBJECTS:
        moved = float((o3.sdf(kind, p, 0.0) - o3.sdf(kind, p, 30.0)).abs().max())
        assert (moved > 0.05) == (kind == "cube"), kind
