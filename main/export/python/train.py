"""Continue training the exported model, on one GPU or data-parallel with torchrun.

    python train.py --data corpus.txt --steps 1000
    torchrun --nproc_per_node=8 train.py --data corpus.txt --steps 1000

Byte-level data (token id = byte, as StateLab's byte tokenizer), next-token cross-entropy, AdamW with
StateLab's defaults (betas 0.9/0.95, weight decay 0.1 except norms, biases and decay rates, gradient norm
clipped to 1, cosine schedule with warm-up). Writes model.safetensors + config.json to --out.
"""

import argparse
import math
import os

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from load import HERE, load_config, load_model, save_model


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="a UTF-8 text file (one token per byte)")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch", type=int, default=8, help="sequences per GPU and step")
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--warmup", type=int, default=None, help="warm-up steps (default: min(100, steps / 10))")
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--from-scratch", action="store_true", help="fresh initialization instead of the checkpoint")
    p.add_argument("--out", default="trained")
    return p.parse_args()


def learning_rate(step, peak, warmup, total, min_ratio=0.1):
    """Linear warm-up, then cosine decay to min_ratio * peak (StateLab's schedule)."""
    if warmup > 0 and step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def main():
    args = parse_args()
    distributed = "WORLD_SIZE" in os.environ
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = dist.get_rank() if distributed else 0
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)

    config = load_config()
    if args.from_scratch:
        from model import StateLabForCausalLM

        torch.manual_seed(args.seed)
        model = StateLabForCausalLM(config).to(device)
    else:
        model = load_model(HERE, device)
    no_decay = set(config["statelab_no_decay"])
    named = list(model.named_parameters())
    groups = [
        {"params": [p for n, p in named if n not in no_decay], "weight_decay": args.weight_decay},
        {"params": [p for n, p in named if n in no_decay], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    trained = model
    if distributed:
        trained = DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)

    with open(args.data, "rb") as f:
        data = torch.frombuffer(bytearray(f.read()), dtype=torch.uint8).long()
    if len(data) <= args.seq + 1:
        raise SystemExit(f"{args.data}: {len(data)} bytes, fewer than one window of {args.seq + 1}")
    generator = torch.Generator().manual_seed(args.seed * 1000 + rank)  # each rank draws its own windows
    warmup = args.warmup if args.warmup is not None else min(100, args.steps // 10)

    for step in range(args.steps):
        starts = torch.randint(0, len(data) - args.seq - 1, (args.batch,), generator=generator)
        window = torch.stack([data[s : s + args.seq + 1] for s in starts.tolist()]).to(device)
        logits, _ = trained(window[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), window[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, args.lr, warmup, args.steps)
        optimizer.step()
        if rank == 0 and (step % 10 == 0 or step == args.steps - 1):
            print(f"step {step + 1}/{args.steps}  loss {loss.item():.4f}  grad norm {grad_norm.item():.3f}", flush=True)

    if rank == 0:
        save_model(model, args.out, config)
        print(f"saved {args.out}/model.safetensors")
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
