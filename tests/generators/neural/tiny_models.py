"""Tiny random models built in code and saved with save_pretrained, for neural tests and bench."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CORPUS = [
    "an old silent pond a frog jumps into the pond splash silence again",
    "the moon over the river cherry blossoms in the wind a heron in the rain",
    "snow on a mountain temple fireflies over a rice field autumn maples by a lake",
    "a crow on a bare branch morning mist on the sea pines at dusk",
    "Write one haiku about the moon. You are Kavi, a haiku poet.",
    "<|user|> <|assistant|> <|system|> three lines of 5, 7 and 5 syllables",
]
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}</s>\n"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def byte_level_tokenizer(*, chat_template: bool) -> Any:
    """A small byte-level BPE tokenizer: every string encodes, none is out of vocabulary."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<s>", "</s>", "<pad>", "<|user|>", "<|assistant|>", "<|system|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(CORPUS, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    if chat_template:
        tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_tiny_lm(folder: Path, *, chat_template: bool, seed: int = 0) -> Path:
    """Save a byte-level BPE tokenizer and a two-layer random Llama to `folder`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = byte_level_tokenizer(chat_template=chat_template)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(folder)
    model.save_pretrained(folder)
    return folder


def clip_tokenizer() -> Any:
    """A character-level CLIPTokenizer (vocab and merges in memory, as transformers 5 wants)."""
    from transformers import CLIPTokenizer

    vocab, merges = _clip_tokenizer_files()
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)


def _clip_tokenizer_files() -> tuple[dict[str, int], list[tuple[str, str]]]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab: dict[str, int] = {}
    for token in ["<|startoftext|>", "<|endoftext|>", "!", ",", ".", "-"]:
        vocab[token] = len(vocab)
    for ch in letters:
        vocab[ch] = len(vocab)
    for ch in letters:
        vocab[ch + "</w>"] = len(vocab)
    merges = [("t", "h"), ("th", "e</w>")]
    vocab["th"] = len(vocab)
    vocab["the</w>"] = len(vocab)
    return vocab, merges


def build_tiny_sd(folder: Path, *, seed: int = 0) -> Path:
    """Save a tiny random Stable Diffusion pipeline (UNet, VAE, CLIP text encoder) to `folder`."""
    import torch
    from diffusers import (
        AutoencoderKL,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=8,
        norm_num_groups=32,
    )
    vae = AutoencoderKL(
        block_out_channels=(32, 64),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=32,
        sample_size=64,
    )
    tokenizer = clip_tokenizer()
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=77,
            layer_norm_eps=1e-5,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        )
    )
    scheduler = turbo_scheduler()
    pipe = StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder)
    return folder


def turbo_scheduler() -> Any:
    """The Euler ancestral scheduler with trailing timesteps that SD-Turbo ships."""
    from diffusers import EulerAncestralDiscreteScheduler

    return EulerAncestralDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        timestep_spacing="trailing",
        steps_offset=1,
    )


def build_tiny_taesd(folder: Path, *, seed: int = 0) -> Path:
    """Save a tiny random AutoencoderTiny whose 2x scale matches the tiny pipeline's VAE."""
    import torch
    from diffusers import AutoencoderTiny

    torch.manual_seed(seed)
    vae = AutoencoderTiny(
        encoder_block_out_channels=(16, 16),
        decoder_block_out_channels=(16, 16),
        num_encoder_blocks=(1, 1),
        num_decoder_blocks=(1, 1),
        latent_channels=4,
    )
    vae.save_pretrained(folder)
    return folder


def build_tiny_flux(folder: Path, *, seed: int = 0) -> Path:
    """Save a tiny random FLUX pipeline (transformer, VAE, CLIP and T5 encoders) to `folder`.

    Its native side is 256 px (default_sample_size 128 x a VAE scale of 2): a transformer
    pipeline like FLUX.1-schnell, whose native side is 1024 px.
    """
    import torch
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        FluxPipeline,
        FluxTransformer2DModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    torch.manual_seed(seed)
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=16,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=32,
        pooled_projection_dim=32,
        axes_dims_rope=[4, 4, 8],
    )
    vae = AutoencoderKL(
        block_out_channels=(32, 64),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=32,
        sample_size=32,
        use_quant_conv=False,
        use_post_quant_conv=False,
        shift_factor=0.0609,
        scaling_factor=1.5035,
    )
    tokenizer = clip_tokenizer()
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=1,
            num_attention_heads=4,
            max_position_embeddings=77,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
            projection_dim=32,
        )
    )
    tokenizer_2 = byte_level_tokenizer(chat_template=False)
    text_encoder_2 = T5EncoderModel(
        T5Config(
            vocab_size=len(tokenizer_2),
            d_model=32,
            d_kv=8,
            d_ff=37,
            num_layers=1,
            num_heads=4,
            pad_token_id=tokenizer_2.pad_token_id,
            decoder_start_token_id=0,
        )
    )
    pipe = FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        text_encoder_2=text_encoder_2,
        tokenizer_2=tokenizer_2,
        transformer=transformer,
    )
    pipe.save_pretrained(folder)
    return folder


def build_tiny_emotion_classifier(folder: Path, *, seed: int = 0) -> Path:
    """Save a tiny random RoBERTa sequence classifier with GoEmotions' 28 labels."""
    import torch
    from transformers import RobertaConfig, RobertaForSequenceClassification

    from generators.mood.emotions import GO_EMOTIONS_TO_MOODS

    tokenizer = byte_level_tokenizer(chat_template=False)
    labels = list(GO_EMOTIONS_TO_MOODS)
    torch.manual_seed(seed)
    model = RobertaForSequenceClassification(
        RobertaConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=130,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            problem_type="multi_label_classification",
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    tokenizer.save_pretrained(folder)
    model.save_pretrained(folder)
    return folder


# A random ViT at the default init (0.02) maps every picture near one vector (its CLS
# embedding dominates), all about 0.004 apart in cosine distance; a wider init lets the random
# features tell pictures apart (about 0.05-0.3 apart), as a trained model's do.
_WIDE_INIT = 0.2
_TINY_VIT = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "image_size": 32,
    "patch_size": 8,
}


def build_tiny_clip(folder: Path, *, text_half: bool = True, seed: int = 0) -> Path:
    """Save a tiny random CLIP (as a full CLIPModel, like openai/clip-*, or its vision tower
    with projection alone) and its CLIPImageProcessor at 32 px."""
    import torch
    from transformers import (
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
    )

    factor = _WIDE_INIT / 0.02  # CLIP scales its init by initializer_factor
    torch.manual_seed(seed)
    model: Any
    if text_half:
        text = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1}
        text |= {"num_attention_heads": 4, "vocab_size": 64, "bos_token_id": 0, "eos_token_id": 1}
        config = CLIPConfig(
            text_config=text,
            vision_config={**_TINY_VIT, "initializer_factor": factor},
            # Not CLIP's 512: loading must take the projection size from the outer config.
            projection_dim=16,
            initializer_factor=factor,
        )
        model = CLIPModel(config)
    else:
        vision = CLIPVisionConfig(**_TINY_VIT, projection_dim=16, initializer_factor=factor)
        model = CLIPVisionModelWithProjection(vision)
    model.save_pretrained(folder)
    CLIPImageProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    ).save_pretrained(folder)
    return folder


def dinov2_image_processor(resize: int, crop: int) -> Any:
    """DINOv2's image processor: shortest side to `resize`, centre crop, ImageNet statistics
    (facebook/dinov2-* use 256 and 224)."""
    from transformers import BitImageProcessor

    return BitImageProcessor(
        size={"shortest_edge": resize},
        crop_size={"height": crop, "width": crop},
        image_mean=[0.485, 0.456, 0.406],
        image_std=[0.229, 0.224, 0.225],
    )


def build_tiny_dinov2(folder: Path, *, seed: int = 0) -> Path:
    """Save a tiny random Dinov2Model and its image processor at 32 px."""
    import torch
    from transformers import Dinov2Config, Dinov2Model

    torch.manual_seed(seed)
    Dinov2Model(Dinov2Config(**_TINY_VIT, initializer_range=_WIDE_INIT)).save_pretrained(folder)
    dinov2_image_processor(32, 32).save_pretrained(folder)
    return folder
