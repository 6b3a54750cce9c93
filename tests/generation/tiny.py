"""Tiny random diffusers components built from configs (no downloads).

Used by the generation tests: real ``StableDiffusionPipeline`` and
``FluxPipeline`` objects whose models are a few thousand parameters, so the
pipeline-level code paths run on CPU in well under a second.
"""

from __future__ import annotations

import torch
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    EulerAncestralDiscreteScheduler,
    FlowMatchEulerDiscreteScheduler,
    FluxPipeline,
    FluxTransformer2DModel,
    LCMScheduler,
    StableDiffusionPipeline,
    TCDScheduler,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer, T5Config, T5EncoderModel

CHARS = "abcdefghijklmnopqrstuvwxyz"


def tiny_tokenizer(max_length: int = 16) -> CLIPTokenizer:
    """A character-level CLIP BPE tokenizer built offline."""
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in CHARS:
        vocab[c] = len(vocab)
    for c in CHARS:
        vocab[c + "</w>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=max_length)


def tiny_text_encoder(hidden: int = 16, projection_dim: int = 16) -> CLIPTextModel:
    torch.manual_seed(0)
    cfg = CLIPTextConfig(
        vocab_size=2 + 2 * len(CHARS), hidden_size=hidden, intermediate_size=32, num_hidden_layers=2,
        num_attention_heads=2, max_position_embeddings=16, projection_dim=projection_dim,
        bos_token_id=0, eos_token_id=1, pad_token_id=1,
    )
    return CLIPTextModel(cfg).eval()


def tiny_unet(cross_attention_dim: int = 16, time_cond_proj_dim: int | None = None) -> UNet2DConditionModel:
    torch.manual_seed(0)
    return UNet2DConditionModel(
        block_out_channels=(32, 32), layers_per_block=1, sample_size=8, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=cross_attention_dim, norm_num_groups=8, attention_head_dim=4,
        time_cond_proj_dim=time_cond_proj_dim,
    ).eval()


def tiny_vae() -> AutoencoderKL:
    torch.manual_seed(0)
    return AutoencoderKL(
        block_out_channels=(8,), in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",),
        up_block_types=("UpDecoderBlock2D",), latent_channels=4, norm_num_groups=8, sample_size=16,
    ).eval()


SD_SCHEDULERS = {
    "ddim": lambda: DDIMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, steps_offset=1),
    "tcd": lambda: TCDScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, timestep_spacing="trailing", steps_offset=1),
    "lcm": lambda: LCMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, steps_offset=1),
    "euler_a": lambda: EulerAncestralDiscreteScheduler(
        beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, timestep_spacing="trailing", steps_offset=1),
}


def tiny_sd_pipeline(scheduler: str = "tcd") -> StableDiffusionPipeline:
    """A StableDiffusionPipeline of tiny random models; images are 8x8 (latents 8x8 -> 8x8 pixels)."""
    pipe = StableDiffusionPipeline(
        unet=tiny_unet(), vae=tiny_vae(), text_encoder=tiny_text_encoder(), tokenizer=tiny_tokenizer(),
        scheduler=SD_SCHEDULERS[scheduler](), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def tiny_flux_pipeline() -> FluxPipeline:
    """A FluxPipeline with a tiny FluxTransformer2DModel, CLIP and T5 encoders (CLIP-BPE tokenizers)."""
    torch.manual_seed(0)
    transformer = FluxTransformer2DModel(
        patch_size=1, in_channels=16, num_layers=1, num_single_layers=1, attention_head_dim=8,
        num_attention_heads=2, joint_attention_dim=16, pooled_projection_dim=16, axes_dims_rope=[2, 2, 4],
    ).eval()
    torch.manual_seed(0)
    t5 = T5EncoderModel(T5Config(vocab_size=2 + 2 * len(CHARS), d_model=16, d_kv=8, d_ff=32, num_layers=1,
                                 num_heads=2, pad_token_id=1, eos_token_id=1, decoder_start_token_id=0)).eval()
    torch.manual_seed(0)
    vae = AutoencoderKL(
        block_out_channels=(8,), in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",),
        up_block_types=("UpDecoderBlock2D",), latent_channels=4, norm_num_groups=8, sample_size=16,
        use_quant_conv=False, use_post_quant_conv=False, shift_factor=0.0609, scaling_factor=1.5035,
    ).eval()
    pipe = FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, text_encoder=tiny_text_encoder(),
        tokenizer=tiny_tokenizer(), text_encoder_2=t5, tokenizer_2=tiny_tokenizer(), transformer=transformer,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def run_sd(pipe, prompt="a red fox", steps=4, seed=0, **kw):
    """Run a tiny SD pipeline to a float numpy array."""
    return pipe(prompt, num_inference_steps=steps, guidance_scale=kw.pop("guidance_scale", 1.0),
                generator=torch.Generator().manual_seed(seed), height=16, width=16, output_type="np", **kw).images


def run_flux(pipe, prompt="a red fox", steps=4, seed=0, **kw):
    return pipe(prompt, num_inference_steps=steps, guidance_scale=0.0, generator=torch.Generator().manual_seed(seed),
                height=16, width=16, max_sequence_length=16, output_type="np", **kw).images
