"""A read of the training and metric hot paths for tensors that silently land on the CPU.

Every tensor factory there either names its device, or draws from an explicit generator (the
project's rule: random draws come from a CPU generator and are moved once to the device of the
tensor they feed, so a seed gives the same numbers on any device; docs/gpus-and-clusters.md), or
builds a module's parameter or buffer (moved with the module), or is listed below with the
reason it may stay on the CPU. `torch.device("cpu")` appears only where listed.
"""
import ast
from pathlib import Path

import genarena

SRC = Path(genarena.__file__).parent
HOT_PATHS = ("train", "losses", "metrics", "diffusion", "nets", "coevolution", "generative.py",
             "distributed.py")
FACTORIES = {"zeros", "ones", "empty", "full", "arange", "linspace", "rand", "randn", "randint",
             "randperm", "tensor", "eye", "as_tensor"}     # *_like follow their input
MODULE_STATE = {"register_buffer", "Parameter"}

# (file, the call's source) -> why it may stay on the CPU
ALLOWED = {
    ("diffusion/oracle.py", "torch.linspace(*xlim, n)"):
        "the oracle's grid: the Parzen oracle runs on the CPU; the nets get a copy on their device",
    ("diffusion/oracle.py", "torch.linspace(*ylim, n)"): "as above",
    ("diffusion/samplers.py", "torch.linspace(1.0, sde.t_min, n + 1)"):
        "the sampler's time schedule; each time is placed on the samples' device by _full",
    ("diffusion/samplers.py", "torch.linspace(sde.timesteps - 1, 0, steps)"):
        "indices into DDPM's float64 table, which stays on the CPU and is read as Python floats",
    ("diffusion/samplers.py", "torch.ones(1, dtype=ab.dtype)"): "as above",
    ("diffusion/samplers.py", "torch.tensor((idx[k].item() + 1) / sde.timesteps)"):
        "a time value, placed on the samples' device by _full",
    ("diffusion/sde.py", "torch.linspace(beta_start, beta_end, timesteps, dtype=torch.float64)"):
        "DDPM's float64 table stays on the CPU; marginal() indexes it on the CPU and moves the rows",
    ("generative.py", "torch.full((k,), label, dtype=torch.long)"):
        "labels cross the Generative API on the CPU; each model's generate() moves them",
    ("metrics/conditional.py", "torch.full((len(fake),), c, dtype=torch.long)"):
        "CAS's labels: its training batches are drawn on the CPU and moved by train_classifier",
    ("metrics/features.py", "torch.arange(digits.shape[1] - 1, -1, -1)"):
        "the scores run on the CPU, where the feature networks return their logits",
    ("metrics/features.py", 'torch.device("cpu")'):
        "the extractor's home: a cached feature net loads on the CPU; .on(device) moves a copy",
    ("metrics/inception.py", 'torch.device("cpu")'):
        "the extractor's home: the weights load on the CPU; .on(device) moves a copy",
    ("coevolution/mixture.py", "torch.tensor(list(weights), dtype=torch.float64)"):
        "mixture weights: a handful of float64 numbers for the ES and the multinomial counts",
}


def _calls(path: Path):
    """(call node, is it inside a parameter/buffer constructor) for every call in the file."""
    tree = ast.parse(path.read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            up, in_state = parents.get(node), False
            while up is not None:
                if isinstance(up, ast.Call) and isinstance(up.func, ast.Attribute) \
                        and up.func.attr in MODULE_STATE:
                    in_state = True
                up = parents.get(up)
            yield node, in_state


def _is_torch(func: ast.expr, names: set[str]) -> bool:
    return (isinstance(func, ast.Attribute) and func.attr in names
            and isinstance(func.value, ast.Name) and func.value.id == "torch")


def _files():
    for part in HOT_PATHS:
        path = SRC / part
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def test_hot_paths_name_a_device_or_say_why_not():
    unexplained, seen = [], set()
    for path in _files():
        rel = path.relative_to(SRC).as_posix()
        text = path.read_text()
        for call, in_state in _calls(path):
            source = ast.get_source_segment(text, call)
            if _is_torch(call.func, {"device"}):
                cpu = call.args and isinstance(call.args[0], ast.Constant) \
                    and call.args[0].value == "cpu"
                if cpu and (rel, source) not in ALLOWED:
                    unexplained.append(f"{rel}:{call.lineno}: {source}")
                seen.add((rel, source))
                continue
            if not _is_torch(call.func, FACTORIES) or in_state:
                continue
            keywords = {k.arg for k in call.keywords}
            seen.add((rel, source))
            if keywords & {"device", "generator"} or (rel, source) in ALLOWED:
                continue
            unexplained.append(f"{rel}:{call.lineno}: {source}")
    assert not unexplained, "device-less tensors in hot paths:\n" + "\n".join(unexplained)
    stale = [key for key in ALLOWED if key not in seen]
    assert not stale, f"allow-list entries that no longer match the code: {stale}"


def test_every_fork_of_the_rng_names_its_devices():
    """fork_rng() without `devices` forks (so initialises) every visible GPU, from every rank
    of a multi-GPU run: each call in the package names the devices it draws on."""
    bare = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr == "fork_rng" \
                    and "devices" not in {k.arg for k in node.keywords}:
                bare.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not bare, f"fork_rng without devices: {bare}"
