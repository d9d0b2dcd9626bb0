"""PyTorch side of the parity bench: for every family folder that make-parity.ts wrote, check that

1. the Python safetensors library loads every tensor of model.safetensors bit-exact (vs params.bin);
2. the generated model's logits for the fixed ids match StateLab's within 1e-4 relative
   (max |difference| / max |StateLab|), and feeding the ids token by token with the carried state gives
   the same logits (the streaming form);
3. K AdamW steps from the checkpoint, with StateLab's settings and batches, give losses that follow
   StateLab's (relative difference per step);
4. interop: config.json loads with transformers' config loader, tokenizer.json with the tokenizers
   library (id = byte for byte-level runs), and the ONNX export (onnx/) runs in onnxruntime with
   logits within 1e-4 of StateLab's (these columns read "n/a" where a library is missing);
5. optionally (--train-script), the package's train.py runs, single process and under torchrun.

Usage: python3 bench/parity/pytorch_parity.py bench/parity/out [--device cuda] [--report report.json]
Exits non-zero if any check fails.
"""

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

LOGITS_TOLERANCE = 1e-4
LOSS_TOLERANCE = 1e-3


def relative_error(actual, expected):
    return ((actual - expected).abs().max() / expected.abs().max().clamp_min(1e-30)).item()


def import_package(folder):
    """Imports an exported folder as a package under a unique name (folders may share module names)."""
    name = f"statelab_export_{folder.name}"
    spec = importlib.util.spec_from_file_location(name, folder / "__init__.py", submodule_search_locations=[str(folder)])
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    spec.loader.exec_module(package)
    return package


def bit_exact(folder, expected):
    from safetensors.torch import load_file

    loaded = load_file(str(folder / "model.safetensors"))
    raw = torch.frombuffer(bytearray((folder / "params.bin").read_bytes()), dtype=torch.float32)
    offset, problems = 0, []
    for p in expected["params"]:
        count = math.prod(p["shape"])
        reference = raw[offset : offset + count].view(p["shape"])
        offset += count
        t = loaded.get(p["name"])
        if t is None or t.dtype != torch.float32 or list(t.shape) != p["shape"]:
            problems.append(f"{p['name']}: missing or wrong dtype/shape")
        elif not torch.equal(t.view(torch.int32), reference.view(torch.int32)):
            problems.append(f"{p['name']}: bits differ")
    extra = set(loaded) - {p["name"] for p in expected["params"]}
    problems += [f"{name}: not a parameter of the graph" for name in sorted(extra)]
    return len(expected["params"]), problems


def interop(folder, expected):
    """transformers' config loader, the tokenizers library and onnxruntime on the exported files."""
    out = {}
    try:
        import transformers

        # PretrainedConfig reads any model_type (AutoConfig would need the model class registered).
        loader = getattr(transformers, "PretrainedConfig", None) or transformers.PreTrainedConfig
        config = loader.from_pretrained(str(folder))
        out["hf_config"] = config.model_type == "statelab" and config.vocab_size == expected["logits_shape"][-1]
    except ImportError:
        out["hf_config"] = None
    except Exception as error:  # reported, and the family fails
        out["hf_config"], out["hf_config_error"] = False, repr(error)
    try:
        from tokenizers import Tokenizer

        text = "The lighthouse keeper, 42 nights."
        out["tokenizer"] = Tokenizer.from_file(str(folder / "tokenizer.json")).encode(text).ids == list(text.encode())
    except ImportError:
        out["tokenizer"] = None
    try:
        import numpy as np
        import onnxruntime

        session = onnxruntime.InferenceSession(str(folder / "onnx" / "model.onnx"), providers=["CPUExecutionProvider"])
        ids = np.array(expected["ids"], dtype=np.int64).reshape(expected["ids_shape"])
        logits = session.run(["logits"], {"input_ids": ids})[0]
        reference = torch.tensor(expected["logits"], dtype=torch.float64).view(expected["logits_shape"])
        out["onnx_error"] = relative_error(torch.from_numpy(logits).double(), reference)
    except ImportError:
        out["onnx_error"] = None
    return out


def check_family(folder, device):
    expected = json.loads((folder / "expected.json").read_text())
    result = {"family": expected["family"], "kind": expected["kind"]}
    tensors, problems = bit_exact(folder, expected)
    result["tensors"] = tensors
    result["bit_exact"] = not problems
    result["bit_problems"] = problems[:5]

    package = import_package(folder)
    model = package.load_model(folder, device)
    ids = torch.tensor(expected["ids"], device=device).view(expected["ids_shape"])
    reference = torch.tensor(expected["logits"], dtype=torch.float64).view(expected["logits_shape"])
    with torch.no_grad():
        logits, _ = model(ids)
        state, steps = None, []
        for t in range(ids.shape[1]):
            out, state = model(ids[:, t : t + 1], state)
            steps.append(out)
    result["logits_error"] = relative_error(logits.double().cpu(), reference)
    result["step_error"] = relative_error(torch.cat(steps, 1).double().cpu(), reference)

    train = expected["train"]
    no_decay = set(train["no_decay"])
    named = list(model.named_parameters())
    optimizer = torch.optim.AdamW(
        [
            {"params": [p for n, p in named if n not in no_decay], "weight_decay": train["weight_decay"]},
            {"params": [p for n, p in named if n in no_decay], "weight_decay": 0.0},
        ],
        lr=train["lr"],
        betas=(train["beta1"], train["beta2"]),
        eps=train["eps"],
    )
    losses = []
    for batch in train["batches"]:
        inputs = torch.tensor(batch["inputs"], device=device).view(batch["shape"])
        targets = torch.tensor(batch["targets"], device=device).view(batch["shape"])
        logits, _ = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), train["clip"])
        optimizer.step()
        losses.append(loss.item())
    result["losses_statelab"] = train["losses"]
    result["losses_pytorch"] = losses
    result["loss_error"] = max(abs(a - b) / abs(b) for a, b in zip(losses, train["losses"]))
    result.update(interop(folder, expected))
    result["ok"] = (
        result["bit_exact"]
        and result["logits_error"] <= LOGITS_TOLERANCE
        and result["step_error"] <= LOGITS_TOLERANCE
        and result["loss_error"] <= LOSS_TOLERANCE
        and result["hf_config"] is not False
        and result["tokenizer"] is not False
        and (result["onnx_error"] is None or result["onnx_error"] <= LOGITS_TOLERANCE)
    )
    return result


def run_train_script(folder, text, device):
    """The package's train.py, as a user runs it: single process, then under torchrun (one process per GPU)."""
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        common = ["--data", str(text), "--steps", "3", "--batch", "2", "--seq", "16"]
        commands = {
            "single": [sys.executable, "train.py", *common, "--out", f"{tmp}/single"],
            "torchrun": [sys.executable, "-m", "torch.distributed.run", "--standalone",
                         f"--nproc_per_node={max(1, torch.cuda.device_count()) if device == 'cuda' else 2}",
                         "train.py", *common, "--out", f"{tmp}/ddp"],
        }
        for name, command in commands.items():
            started = time.time()
            done = subprocess.run(command, cwd=folder, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
            saved = Path(tmp) / ("single" if name == "single" else "ddp")
            reloaded = False
            if done.returncode == 0:
                package = import_package(folder)
                reloaded = sum(p.numel() for p in package.load_model(saved).parameters()) > 0
            results[name] = {
                "ok": done.returncode == 0 and reloaded,
                "seconds": round(time.time() - started, 1),
                "tail": (done.stdout + done.stderr).strip().splitlines()[-3:],
            }
    return results


def cell(value, width, fmt=".2e"):
    """A table cell: n/a for a check that could not run, True/False, or a number."""
    if value is None:
        text = "n/a"
    elif isinstance(value, bool):
        text = str(value)
    else:
        text = format(value, fmt)
    return text.rjust(width)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--report", type=Path)
    parser.add_argument("--train-script", help="family folder whose train.py to run")
    parser.add_argument("--text", type=Path, default=Path("assets/text/lighthouse.txt"))
    args = parser.parse_args()
    # Full fp32: TF32 matmuls/convolutions would differ from StateLab by ~1e-3.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False

    folders = sorted(p.parent for p in args.out.glob("*/expected.json"))
    if not folders:
        raise SystemExit(f"no family folders with expected.json under {args.out}")
    report = {
        "device": torch.cuda.get_device_name() if args.device == "cuda" else "cpu",
        "torch": torch.__version__,
        "families": [],
    }
    print(
        f"{'family':16} {'tensors':>7} {'bit-exact':>9} {'logits rel':>11} {'step rel':>10} {'loss rel':>10} "
        f"{'onnx rel':>10} {'hf config':>9} {'tokenizer':>9}  ok"
    )
    for folder in folders:
        r = check_family(folder, args.device)
        report["families"].append(r)
        print(
            f"{r['family']:16} {r['tensors']:7d} {str(r['bit_exact']):>9} {r['logits_error']:11.2e} "
            f"{r['step_error']:10.2e} {r['loss_error']:10.2e} {cell(r['onnx_error'], 10)} "
            f"{cell(r['hf_config'], 9)} {cell(r['tokenizer'], 9)}  {'ok' if r['ok'] else 'FAIL'}",
            flush=True,
        )
    if args.train_script:
        report["train_script"] = run_train_script(args.out / args.train_script, args.text.resolve(), args.device)
        for name, r in report["train_script"].items():
            print(f"train.py {name}: {'ok' if r['ok'] else 'FAIL'} ({r['seconds']} s) {r['tail'][-1] if r['tail'] else ''}")
    if args.report:
        args.report.write_text(json.dumps(report, indent=2))
    failed = [r["family"] for r in report["families"] if not r["ok"]]
    failed += [f"train.py {n}" for n, r in report.get("train_script", {}).items() if not r["ok"]]
    print("pytorch_parity: " + ("all ok" if not failed else f"FAILED: {', '.join(failed)}"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
