"""The training loop: epochs of augmented, class-balanced batches; validation per source; early stopping;
best/last checkpoints; resume; metrics JSON and plots.

A network with a geometry head (model ``geometry_frames``) trains with the head out of the optimiser (at
zero, or as the ``init`` checkpoint has it); ``finish`` fits it on the training data
(``emotion.training.geometry``) into ``best.pt`` and reports the validation with and without it. A run
without real photos (fine-tuning on videos) keeps the head of its ``init`` checkpoint.

The validation score is the mean over sources of each source's class-balanced validation macro-F1
(``emotion.training.metrics``; real photos and synthetic windows count alike, however many windows each has). A run directory holds ``best.pt``
(highest validation score), ``last.pt`` (end of the latest epoch) with
``last_state.pt`` (its optimiser and scheduler state, for ``resume``), ``metrics.json``, ``confusion.png``,
``learning_curve.png``, ``val/<source>.npz`` (each source's validation windows, for ``evaluate``) and ``cache/`` (generated synthetic data, unless the config names a cache_dir).

Reproducibility: every random draw of epoch e (sampling, augmentation, dropout) comes from generators
seeded with (seed, e), so a resumed run continues exactly as an uninterrupted one would, with no RNG
state to carry beyond the epoch number.
"""

import json
import math
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from emotion.atomic import write_atomic, write_text_atomic
from emotion.checkpoint import load_checkpoint, save_checkpoint
from emotion.classes import EMOTIONS, NUM_CLASSES
from emotion.features import FeatureConfig
from emotion.models import ModelConfig, build_model
from emotion.normalize import NormalizationConfig
from emotion.paths import REPO_ROOT
from emotion.training.config import TrainConfig, feature_config, model_config, norm_config
from emotion.training.data import (TrainData, build_data, class_loss_weights, make_batch,
                                   sampling_probabilities, share_table)
from emotion.models.deploy import has_appearance
from emotion.training.geometry import fit_geometry_head
from emotion.training.metrics import evaluate_predictions, format_report
from emotion.training.plots import plot_confusion, plot_learning_curve


@dataclass
class RunSetup:
    """What a run trains: the network and the configs stored with it."""

    model: torch.nn.Module
    model_config: ModelConfig
    feature_config: FeatureConfig
    norm_config: NormalizationConfig


def git_commit() -> str | None:
    """The repository's HEAD commit, or None outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def setup_model(cfg: TrainConfig) -> RunSetup:
    """A fresh network from the config, or the ``init`` checkpoint's network and configs (fine-tuning)."""
    if cfg.init is not None:
        ck = load_checkpoint(cfg.init)
        if tuple(ck.class_names) != EMOTIONS:
            raise ValueError(f"init checkpoint {cfg.init} has classes {ck.class_names}, expected {EMOTIONS}")
        if ck.window != cfg.window:
            raise ValueError(f"init checkpoint {cfg.init} uses {ck.window}-frame windows, the config {cfg.window}")
        return RunSetup(ck.model, ck.model_config, ck.feature_config, ck.norm_config)
    mc, fc = model_config(cfg), feature_config(cfg)
    return RunSetup(build_model(mc, fc.channels, NUM_CLASSES), mc, fc, norm_config(cfg))


def trained_parameters(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    """The parameters the optimiser updates: all but the geometry and appearance heads' (fitted after training)."""
    heads = [getattr(model, name, None) for name in ("geometry", "appearance")]
    fitted = {id(p) for head in heads if head is not None for p in head.parameters()}
    return [p for p in model.parameters() if id(p) not in fitted]


def lr_lambda(cfg: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    """LR multiplier per optimiser step: linear warm-up then cosine to 1% (``cosine``), constant after
    warm-up (``constant``), or a one-cycle ramp up over 30% of the steps and cosine down (``onecycle``)."""
    o = cfg.optim
    total = max(1, o.epochs * steps_per_epoch)
    warm = int(o.warmup_epochs * steps_per_epoch) if o.schedule != "onecycle" else int(0.3 * total)

    def factor(step: int) -> float:
        if step < warm:
            return (0.04 if o.schedule == "onecycle" else 0.0) + (step + 1) / warm * (0.96 if o.schedule == "onecycle" else 1.0)
        if o.schedule == "constant":
            return 1.0
        progress = min(1.0, (step - warm) / max(1, total - warm))
        return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress))
    return factor


def predict_logits(model: torch.nn.Module, features: torch.Tensor, batch_size: int,
                   appearance: torch.Tensor | None = None) -> torch.Tensor:
    """Eval-mode logits in batches; ``appearance`` goes to a model with an appearance head.

    Shape: features (N, C, T, V), appearance (N, DESCRIPTOR_SIZE) -> (N, K).
    """
    model.eval()
    seen = appearance if has_appearance(model) else None
    with torch.no_grad():
        return torch.cat([model(features[i:i + batch_size], *(() if seen is None else (seen[i:i + batch_size],)))
                          for i in range(0, len(features), batch_size)])


def _loss(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, smoothing: float,
          weight: torch.Tensor | None) -> torch.Tensor:
    """Cross-entropy of the logits, plus one per stream when the model has ``stream_logits`` (RA-GCN; its
    ``combine`` gives the combined logits from the same pass)."""
    if not hasattr(model, "stream_logits"):
        return F.cross_entropy(model(x), y, weight=weight, label_smoothing=smoothing)
    streams = model.stream_logits(x)
    combined = model.combine(streams) if hasattr(model, "combine") else model(x)
    return sum((F.cross_entropy(logits, y, weight=weight, label_smoothing=smoothing) for logits in streams),
               F.cross_entropy(combined, y, weight=weight, label_smoothing=smoothing))


def _resume_key(cfg_dict: dict) -> dict:
    """A config dict without the keys a resumed run may change (how long it trains, threads)."""
    key = json.loads(json.dumps(cfg_dict))
    for name in ("epochs", "patience", "max_minutes"):
        key.get("optim", {}).pop(name, None)
    key.pop("source_file", None)
    key.pop("threads", None)
    return key


class Trainer:
    """One run in one directory: ``Trainer(cfg, out).fit(resume=False)``."""

    def __init__(self, cfg: TrainConfig, out_dir: str | Path, progress: bool = True,
                 log: Callable[[str], None] = print) -> None:
        self.cfg, self.out, self.progress, self.log = cfg, Path(out_dir), progress, log
        self.out.mkdir(parents=True, exist_ok=True)
        torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self.data: TrainData = build_data(cfg, cfg.cache_dir or self.out / "cache", progress)
        for name, mask in self.data.val_parts.items():   # so `evaluate` can score any checkpoint on the same split
            self.data.val.subset(mask).save(self.out / "val" / f"{name.replace(':', '_')}.npz")
        self.setup = setup_model(cfg)
        self.model = self.setup.model
        if getattr(self.model, "geometry", None) is not None and self.data.photos is None and cfg.init is None:
            raise ValueError("the geometry head (model geometry_frames) is fitted on real photos: add a photos "
                             "source or set [model] geometry_frames = 0")
        if has_appearance(self.model) and self.data.photos is not None and self.data.photos.appearance is None:
            raise ValueError("the appearance head (model appearance_frames) is fitted on the photos' appearance "
                             "descriptors, and these photos have none: prepare them again with this version")
        o = cfg.optim
        self.samples = o.samples_per_epoch or len(self.data.train)
        self.steps_per_epoch = max(1, self.samples // o.batch_size)
        self.trained = trained_parameters(self.model)   # the same Parameter objects after a resume's load
        self.optimizer = torch.optim.AdamW(self.trained, lr=o.lr, weight_decay=o.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_lambda(cfg, self.steps_per_epoch))
        source_weights = np.array([src.weight for src in cfg.sources])[self.data.sources]
        self.probs = sampling_probabilities(self.data.train.labels, source_weights, NUM_CLASSES,
                                            o.balance == "sampler", self.data.sources, share_table(cfg))
        self.loss_weight = class_loss_weights(self.data.train.labels, NUM_CLASSES) if o.balance == "loss" else None
        self.val_x = make_batch(self.data.val.landmarks, self.setup.norm_config, self.setup.feature_config)
        self.val_y = torch.as_tensor(self.data.val.labels)
        self.val_appearance = torch.from_numpy(self.data.val.appearance_or_zeros())
        self.history: list[dict] = []
        self.best_score, self.best_epoch, self.epoch = -1.0, 0, 0
        self.elapsed_s = 0.0

    # ---- checkpoints ----
    def _save(self, name: str, metrics: dict) -> Path:
        """A checkpoint whose ``extra`` holds the metrics, config, commit, data summary and progress."""
        s = self.setup
        extra = {"metrics": metrics, "train_config": self.cfg.to_dict(), "git_commit": git_commit(),
                 "data": self.data.summary, "epoch": self.epoch, "history": self.history,
                 "best_score": self.best_score, "best_epoch": self.best_epoch, "elapsed_s": self.elapsed_s}
        return save_checkpoint(self.out / name, self.model, s.model_config, s.feature_config, s.norm_config,
                               EMOTIONS, extra)

    def _save_last(self, metrics: dict) -> None:
        """last_state.pt (optimiser and scheduler tensors, which checkpoints keep out of extra), then last.pt.

        last_state.pt keeps the states of this epoch and the one before, so whichever epoch last.pt holds
        after a kill between (or during) the two atomic writes, its state is there."""
        states = {e: s for e, s in self._saved_states().items() if e == self.epoch - 1}
        states[self.epoch] = {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}
        with write_atomic(self.out / "last_state.pt") as tmp:
            torch.save({"states": states}, tmp)
        self._save("last.pt", metrics)

    def _saved_states(self) -> dict[int, dict]:
        """Optimiser and scheduler states by epoch from last_state.pt ({} when absent or unreadable)."""
        path = self.out / "last_state.pt"
        if not path.is_file():
            return {}
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # torch raises many types for a damaged file: treated as absent
            return {}
        if isinstance(data, dict) and isinstance(data.get("states"), dict):
            return {int(e): s for e, s in data["states"].items()}
        if isinstance(data, dict) and "epoch" in data:       # one state (files written before both were kept)
            return {int(data["epoch"]): data}
        return {}

    def _resume(self) -> None:
        path = self.out / "last.pt"
        if not path.is_file() or not (self.out / "last_state.pt").is_file():
            raise FileNotFoundError(f"cannot resume: no {path} and last_state.pt")
        ck = load_checkpoint(path)
        state = self._saved_states().get(ck.extra["epoch"])
        if state is None:
            raise ValueError(f"cannot resume: last_state.pt holds no optimiser state for epoch {ck.extra['epoch']} "
                             f"of {path}")
        if _resume_key(ck.extra.get("train_config", {})) != _resume_key(self.cfg.to_dict()):
            raise ValueError(f"cannot resume: {path} was trained with a different config "
                             f"(only optim.epochs, optim.patience and optim.max_minutes may change)")
        self.model.load_state_dict(ck.model.state_dict())
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.epoch, self.history = ck.extra["epoch"], list(ck.extra["history"])
        self.best_score, self.best_epoch = ck.extra["best_score"], ck.extra["best_epoch"]
        self.elapsed_s = ck.extra["elapsed_s"]
        self.log(f"resumed from {path} after epoch {self.epoch} (best score {self.best_score:.4f})")

    # ---- epochs ----
    def train_epoch(self) -> float:
        """One epoch of augmented batches; returns the mean training loss."""
        cfg, o = self.cfg, self.cfg.optim
        rng = np.random.default_rng([cfg.seed, self.epoch])
        torch.manual_seed(cfg.seed * 100_003 + self.epoch)
        n = self.steps_per_epoch * o.batch_size
        if o.balance == "none" and self.samples == len(self.data.train):
            order = rng.permutation(len(self.data.train))[:n]
        else:
            order = rng.choice(len(self.data.train), size=n, p=self.probs)
        self.model.train()
        total = 0.0
        bar = tqdm(range(self.steps_per_epoch), desc=f"epoch {self.epoch + 1}/{o.epochs}", leave=False,
                   disable=not self.progress, unit="batch")
        for step in bar:
            idx = np.sort(order[step * o.batch_size:(step + 1) * o.batch_size])
            x = make_batch(self.data.train.landmarks[idx], self.setup.norm_config, self.setup.feature_config,
                           cfg.augment, rng, self.data.identities)
            y = torch.as_tensor(self.data.train.labels[idx])
            loss = _loss(self.model, x, y, o.label_smoothing, self.loss_weight)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if o.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(self.trained, o.grad_clip)
            self.optimizer.step()
            self.scheduler.step()
            total += float(loss.detach())
            bar.set_postfix(loss=f"{total / (step + 1):.3f}")
        return total / self.steps_per_epoch

    def validate(self, model: torch.nn.Module | None = None) -> tuple[dict, float]:
        """Validation report and loss (plain cross-entropy, no smoothing). The report covers all validation
        windows, adds one report per source under ``parts`` and the selection score ``score``: the mean
        over the parts of their class-balanced macro-F1, so neither a large source nor a common class can
        hide a small one."""
        logits = predict_logits(model or self.model, self.val_x, self.cfg.optim.eval_batch_size, self.val_appearance)
        loss = float(F.cross_entropy(logits, self.val_y))
        predicted, truth = logits.argmax(1).numpy(), self.val_y.numpy()
        rep = evaluate_predictions(truth, predicted, EMOTIONS)
        rep["parts"] = {name: evaluate_predictions(truth[mask], predicted[mask], EMOTIONS)
                        for name, mask in self.data.val_parts.items()}
        rep["score"] = float(np.mean([part["balanced_macro_f1"] for part in rep["parts"].values()]))
        return rep, loss

    def fit(self, resume: bool = False) -> dict:
        """Train until the epochs run out, the validation score stops improving for ``patience`` epochs, or
        ``max_minutes`` passes; then write the final metrics and plots (from best.pt) and return them."""
        o = self.cfg.optim
        if resume:
            self._resume()
        self.log(f"train {len(self.data.train)} windows {self.data.summary['train_classes']}, "
                 f"val {len(self.data.val)} windows {self.data.summary['val_classes']}, "
                 f"{sum(p.numel() for p in self.model.parameters())} parameters")
        while self.epoch < o.epochs and not self._stop_reason():
            start = time.perf_counter()
            train_loss = self.train_epoch()
            rep, val_loss = self.validate()
            self.epoch += 1
            self.elapsed_s += time.perf_counter() - start
            row = {"epoch": self.epoch, "train_loss": train_loss, "val_loss": val_loss,
                   "val_accuracy": rep["accuracy"], "val_macro_f1": rep["macro_f1"], "val_score": rep["score"],
                   "val_parts_macro_f1": {name: part["macro_f1"] for name, part in rep["parts"].items()},
                   "lr": self.optimizer.param_groups[0]["lr"], "elapsed_s": round(self.elapsed_s, 1)}
            self.history.append(row)
            improved = rep["score"] > self.best_score
            if improved:
                self.best_score, self.best_epoch = rep["score"], self.epoch
                self._save("best.pt", rep)
            self._save_last(rep)
            parts = " ".join(f"{name} {part['macro_f1']:.4f}/{part['balanced_macro_f1']:.4f}"
                             for name, part in rep["parts"].items())
            self.log(f"epoch {self.epoch}: loss {train_loss:.4f} val loss {val_loss:.4f} acc {rep['accuracy']:.4f} "
                     f"macro-F1 {rep['macro_f1']:.4f} (per source macro/balanced: {parts}) score {rep['score']:.4f}"
                     f"{' *' if improved else ''} "
                     f"({self.elapsed_s / 60:.1f} min)")
        return self.finish(self._stop_reason() or "epochs done")

    def _stop_reason(self) -> str | None:
        o = self.cfg.optim
        if self.epoch - self.best_epoch >= o.patience and self.epoch > 0:
            return f"early stop: no validation score gain for {o.patience} epochs"
        if o.max_minutes and self.elapsed_s >= o.max_minutes * 60:
            return f"time limit of {o.max_minutes} min reached"
        return None

    def _fit_geometry(self, best) -> dict | None:
        """Fit best.pt's geometry head (and appearance head, if it has them) and save it; the validation of
        the network alone."""
        head = getattr(best.model, "geometry", None)
        if head is None:
            return None
        if self.data.photos is None:
            self.log("no real photos in this run: the geometry head is kept as the init checkpoint has it")
            return None
        with torch.no_grad():
            for layer in (head, getattr(best.model, "appearance", None)):
                if layer is not None:
                    layer.weight.zero_()
                    layer.bias.zero_()
        network_alone, _ = self.validate(best.model)
        photo_sources = [i for i, src in enumerate(self.cfg.sources) if src.kind == "photos"]
        others = self.data.train.subset(~np.isin(self.data.sources, photo_sources))
        summary = fit_geometry_head(best.model, self.data.photos, others, best.norm_config, best.feature_config,
                                    self.cfg.geometry, self.cfg.seed)
        save_checkpoint(self.out / "best.pt", best.model, best.model_config, best.feature_config, best.norm_config,
                        EMOTIONS, {**best.extra, "geometry": summary})
        heads = "geometry and appearance heads" if summary["appearance"] else "geometry head"
        self.log(f"{heads} fitted on {summary['photos']} photos and {summary['other_windows']} other windows")
        return network_alone

    def finish(self, reason: str) -> dict:
        """Fit best.pt's geometry head (if any), evaluate best.pt on validation; write metrics.json,
        confusion.png, learning_curve.png."""
        best = load_checkpoint(self.out / "best.pt")
        network_alone = self._fit_geometry(best)
        rep, _ = self.validate(best.model)
        metrics = {"validation": rep, "best_epoch": self.best_epoch, "epochs_run": self.epoch,
                   "stop_reason": reason, "train_minutes": round(self.elapsed_s / 60, 2),
                   "parameters": sum(p.numel() for p in best.model.parameters()),
                   "history": self.history, "data": self.data.summary, "config": self.cfg.to_dict(),
                   "git_commit": git_commit()}
        if network_alone is not None:
            metrics["validation_without_geometry"] = network_alone
        write_text_atomic(self.out / "metrics.json", json.dumps(metrics, indent=2))
        plot_confusion(np.array(rep["confusion"]), EMOTIONS, self.out / "confusion.png",
                       f"validation, best epoch {self.best_epoch}: acc {rep['accuracy']:.3f}, "
                       f"macro-F1 {rep['macro_f1']:.3f}")
        plot_learning_curve(self.history, self.out / "learning_curve.png")
        parts = "\n".join(f"[{name}]\n{format_report(part)}" for name, part in rep["parts"].items())
        self.log(f"{reason}; best epoch {self.best_epoch}\n{format_report(rep)}\n{parts}")
        return metrics


def train(cfg: TrainConfig, out_dir: str | Path, resume: bool = False, progress: bool = True,
          log: Callable[[str], None] = print) -> dict:
    """Run (or resume) the training described by ``cfg`` in ``out_dir``; returns the final metrics."""
    return Trainer(cfg, out_dir, progress, log).fit(resume)
