"""LION's pieces that need no shipped weights: the VAE starts as identity and learns, both priors chained through
the core's samplers against exact Gaussian denoisers, the point metrics against closed forms, meshes and file results."""

import math
import wave

import numpy as np
import pytest
import torch
import trimesh

from engines import lion, lion_train
from engines.core.mesh import Grid, grid_mesh, points_mesh, surface_report
from engines.core.nn import PointVAE, PointVAEConfig
from engines.core.samplers import Denoiser
from engines.core.schedules import make_schedule
from engines.files import MeshFile, PointCloudFile, WavFile, save_all
from engines.point_metrics import chamfer, generation_report, one_nna, pairwise_chamfer

TINY = PointVAEConfig(dz=8, dh=1, width=32, enc_blocks=1, dec_blocks=1)


def sphere_cloud(n=2048, r=0.8, seed=0):
    p = np.random.default_rng(seed).normal(size=(n, 3))
    return (r * p / np.linalg.norm(p, axis=1, keepdims=True)).astype(np.float32)


def test_the_vae_starts_as_identity_and_its_elbo_falls_when_trained():
    torch.manual_seed(0)
    vae = PointVAE(TINY)
    x = torch.from_numpy(np.stack([sphere_cloud(256, r, s) for s, r in enumerate((0.5, 0.7, 0.9, 0.6))]))
    assert torch.allclose(vae(x), x, atol=1e-6)  # latent points = the input points, decoder = identity
    mu_h, log_sigma = vae.encode_local(x, vae.encode_global(x)[0])
    assert torch.allclose(log_sigma, torch.full_like(log_sigma, -TINY.log_sigma_offset))
    opt = torch.optim.Adam(vae.parameters(), 3e-3)
    gen = torch.Generator().manual_seed(0)

    def elbo():
        t = lion_train.vae_terms(vae, x, gen, subset=128)
        return t["recon"] + 0.01 * t["kl_z"] + 0.01 * t["kl_h"]

    first = [float(elbo()) for _ in range(3)]
    for _ in range(60):
        loss = elbo()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(elbo()) < 0.85 * np.mean(first)  # the KLs fall as sigma_h grows, faster than recon rises


def test_kl_weights_anneal_log_linearly_then_hold():
    assert lion_train.kl_weight(0, 100, 0.5, 0.5) == pytest.approx(lion_train.KL_MIN)
    assert lion_train.kl_weight(25, 100, 0.5, 0.5) == pytest.approx(math.sqrt(lion_train.KL_MIN * 0.5))
    assert lion_train.kl_weight(50, 100, 0.5, 0.5) == lion_train.kl_weight(90, 100, 0.5, 0.5) == pytest.approx(0.5)
    assert float(lion_train.gaussian_kl(torch.tensor(0.0), torch.tensor(0.0))) == 0.0


def gaussian_x0(mean_fn, s: float, schedule):
    """The exact E[x0 | x_t] when x0 ~ N(mean(cond), s^2): mean + sqrt(ab) s^2 / (ab s^2 + 1 - ab) (x_t - sqrt(ab) mean)."""

    def net(x_t, t, cond):
        ab = schedule.at(t).reshape(-1, *([1] * (x_t.dim() - 1)))
        m = mean_fn(cond, x_t)
        return m + ab.sqrt() * s**2 / (ab * s**2 + 1 - ab) * (x_t - ab.sqrt() * m)

    return Denoiser(net, "x0", clip=None)


class IdentityVAE:
    def decode(self, h, z):
        return h[..., :3]


def test_both_priors_chain_through_the_core_samplers_against_exact_denoisers():
    """z0 | y ~ N(2 y, 0.3^2) per number; h0 | z0 ~ N(z0[:4], 0.2^2) per point: the sampled z follow their class and
    every point of a shape centres on its own z0, so z0 really conditions DDM_h."""
    schedule = make_schedule("cosine", 1000)
    ddm_z = gaussian_x0(lambda y, x: 2.0 * y.float()[:, None].expand_as(x), 0.3, schedule)
    ddm_h = gaussian_x0(lambda z, x: z[:, None, :4].expand_as(x), 0.2, schedule)
    stats = {"z_mean": torch.zeros(8), "z_std": torch.ones(8), "h_mean": torch.zeros(4), "h_std": torch.ones(4)}
    model = lion.Lion(IdentityVAE(), ddm_z, ddm_h, schedule, stats)
    gen = torch.Generator().manual_seed(0)
    y = torch.tensor([0, 1, 2] * 20)
    z_T, h_T = torch.randn(60, 8, generator=gen), torch.randn(60, 512, 4, generator=gen)
    items = list(lion._stream(model, ddm_z, z_T, h_T, y, 50))
    frames = [f for f in items if isinstance(f, lion.Frame)]
    assert [f.stage for f in frames] == ["z"] * 50 + ["h"] * 50
    z, h = items[-1]
    for k in range(3):
        zk = z[y == k]
        assert zk.mean().item() == pytest.approx(2.0 * k, abs=0.05) and zk.std().item() == pytest.approx(0.3, rel=0.1)
    assert torch.allclose(h.mean(1), z[:, :4], atol=0.04)  # each shape's points centre on its own z0 (4.5 s.e.)
    assert h.std(1).mean().item() == pytest.approx(0.2, rel=0.1)
    assert frames[60].cloud().shape == (60, 512, 3)  # stage h shows the latent points' xyz


def test_chamfer_and_one_nna_against_closed_forms():
    a, b = torch.zeros(1, 1, 3), torch.tensor([[[3.0, 4.0, 0.0]]])
    assert chamfer(a, b).item() == pytest.approx(50.0)  # 25 each way
    two = torch.tensor([[[0.0, 0, 0], [1.0, 0, 0]]])
    assert chamfer(two, a).item() == pytest.approx(0.5 + 0.0)  # mean of 0 and 1 one way, 0 the other
    near, far = torch.randn(8, 64, 3) * 0.01, torch.randn(8, 64, 3) * 0.01 + 5
    d = lambda p, q: pairwise_chamfer(p, q)  # noqa: E731
    assert one_nna(d(near, near), d(far, far), d(near, far)) == 1.0  # two distinct sets: always told apart
    rep = generation_report(torch.randn(16, 64, 3), torch.randn(16, 64, 3))
    assert 20 <= rep["1-NNA-CD %"] <= 80 and rep["COV-CD %"] > 30  # one distribution: near chance


def test_a_spheres_cloud_becomes_one_closed_surface_near_it():
    p = sphere_cloud()
    mesh = points_mesh(p)
    rep = surface_report(mesh, p)
    assert rep["closed_single"] and rep["components"] == 1
    r = np.linalg.norm(mesh.vertices, axis=1)
    assert r.mean() == pytest.approx(0.8, abs=0.01)  # shrink-wrapped from the closing offset onto the points
    again = sphere_cloud(seed=1)  # another sampling of the same sphere: the cloud's own Chamfer noise
    floor = float(chamfer(torch.from_numpy(again)[None], torch.from_numpy(p)[None]))
    assert rep["cd"] < 1.5 * floor


def test_grid_mesh_of_a_sphere_field_has_the_spheres_area_and_reads_colours():
    grid = Grid(np.full(3, -1.0), 2.0 / 63, 64)
    xyz = grid.nodes()
    field = np.linalg.norm(xyz, axis=-1)
    colors = np.zeros((64, 64, 64, 3))
    colors[..., 0] = (xyz[..., 0] > 0)  # red on the +x half
    mesh = grid_mesh(field, 0.7, grid, colors)
    assert mesh.is_watertight and mesh.area == pytest.approx(4 * np.pi * 0.7**2, rel=0.02)
    assert mesh.volume > 0  # normals point outwards (down the field)
    right = mesh.vertices[:, 0] > 0.1
    assert (mesh.visual.vertex_colors[right, 0] > 200).all() and (mesh.visual.vertex_colors[~right & (
        mesh.vertices[:, 0] < -0.1), 0] < 50).all()
    with pytest.raises(ValueError, match="no surface"):
        grid_mesh(field, 5.0, grid)


def test_results_of_every_kind_are_written_as_numbered_files(tmp_path):
    p = sphere_cloud(512)
    ico = trimesh.creation.icosphere()
    n = save_all([(PointCloudFile(p, lion.height_colours(p)), MeshFile(ico)),
                  (WavFile(np.sin(np.linspace(0, 100, 22050)), 22050),)], tmp_path)
    assert n == 2
    cloud = trimesh.load(tmp_path / "000.ply")
    assert len(cloud.vertices) == 512 and np.allclose(cloud.vertices, p, atol=1e-6)
    assert len(trimesh.load(tmp_path / "000.glb", force="mesh").faces) == len(ico.faces)
    with wave.open(str(tmp_path / "001.wav")) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnframes()) == (22050, 2, 22050)


def test_two_parts_that_do_not_touch_are_joined_by_one_strut_into_one_closed_surface():
    a, b = sphere_cloud() * 0.5, sphere_cloud(seed=1) * 0.5 + np.array([1.1, 0, 0], dtype=np.float32)
    p = np.concatenate([a, b])
    apart = surface_report(points_mesh(p, join=False), p)
    assert apart["watertight"] and apart["components"] == 2
    mesh = points_mesh(p)
    rep = surface_report(mesh, p)
    assert rep["closed_single"]
    between = mesh.vertices[(mesh.vertices[:, 0] > 0.5) & (mesh.vertices[:, 0] < 0.6)]
    assert len(between) and np.abs(between[:, 1:]).max() < 0.15  # a thin strut along the line of centres
    assert rep["cd"] < 1.5 * apart["cd"]  # a short strut adds little surface far from the points
