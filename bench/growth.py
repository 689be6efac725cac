"""Growth benchmark (issue 11): analysis cost must be linear in file size.

    python bench/growth.py [--sizes 10,20,40,80,160]

The same realistic training section (model class, loader, training loop with zero_grad/backward/step,
an evaluate function) is repeated N times, once at top level and once wrapped as N functions. For each
size it times the libcst parse and, separately, the semantic model plus every rule in-process (the `[*]`
fixability pass of the CLI is excluded: it is the fix package's cost). It prints seconds per KLOC of each
and the ratio of the largest to the smallest size's model+rules seconds/KLOC, which must stay under 1.5.
Best of --runs (default 3) runs, each after a gc.collect(), so a busy machine disturbs it less.
"""
from __future__ import annotations

import argparse
import gc
import sys
import time

SECTION = '''
class Net{i}(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = torch.relu(self.fc1(x.view(x.size(0), -1)))
        return self.fc2(x)


model{i} = Net{i}()
optimizer{i} = optim.SGD(model{i}.parameters(), lr=0.01, momentum=0.9)
criterion{i} = nn.CrossEntropyLoss()
train_loader{i} = DataLoader(train_set, batch_size=64, shuffle=True)
test_loader{i} = DataLoader(test_set, batch_size=256)


def evaluate{i}(model, loader):
    model.eval()
    correct = 0
    with torch.no_grad():
        for data, target in loader:
            output = model(data)
            correct += (output.argmax(dim=1) == target).sum().item()
    return correct / len(loader.dataset)


for epoch in range(3):
    model{i}.train()
    for data, target in train_loader{i}:
        optimizer{i}.zero_grad()
        output = model{i}(data)
        loss = criterion{i}(output, target)
        loss.backward()
        optimizer{i}.step()
    print(epoch, evaluate{i}(model{i}, test_loader{i}))
'''

HEADER = '''import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

train_set = datasets.MNIST("data", train=True, download=True, transform=transforms.ToTensor())
test_set = datasets.MNIST("data", train=False, transform=transforms.ToTensor())
'''


def top_level(n: int) -> str:
    return HEADER + "".join(SECTION.format(i=i) for i in range(n))


def as_functions(n: int) -> str:
    out = [HEADER]
    for i in range(n):
        body = SECTION.format(i=i)
        out.append(f"\n\ndef section{i}():\n" + "".join(
            ("    " + line if line.strip() else line) for line in body.splitlines(True)))
    out.append("\n\n" + "".join(f"section{i}()\n" for i in range(n)))
    return "".join(out)


def parse(source: str):
    import libcst

    return libcst.parse_module(source)


def analyze(module) -> int:
    from zerolint.model import SemanticModel
    from zerolint.rules import all_rules

    model = SemanticModel(module, "<growth>")
    return sum(len(list(rule.check(model))) for rule in all_rules().values())


def best_of(runs: int, fn, arg) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(runs):
        gc.collect()  # start each run from the same heap: a previous size's garbage is not this size's cost
        start = time.perf_counter()
        result = fn(arg)
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,20,40,80,160")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    analyze(parse(top_level(1)))  # warm imports
    worst = 0.0
    for name, make in (("top-level", top_level), ("functions", as_functions)):
        per_kloc = []
        for n in sizes:
            source = make(n)
            kloc = source.count("\n") / 1000
            parse_s, module = best_of(args.runs, parse, source)
            seconds, found = best_of(args.runs, analyze, module)
            per_kloc.append(seconds / kloc)
            print(f"{name:9} n={n:4} {kloc * 1000:6.0f} lines  parse {parse_s / kloc:6.3f} s/KLOC  "
                  f"model+rules {seconds:6.2f} s {seconds / kloc:6.3f} s/KLOC  findings={found}", flush=True)
        ratio = per_kloc[-1] / per_kloc[0]
        worst = max(worst, ratio)
        print(f"{name:9} ratio largest/smallest model+rules s/KLOC: {ratio:.2f}", flush=True)
    print(f"worst ratio {worst:.2f} ({'ok' if worst < 1.5 else 'FAIL: must be < 1.5'})")
    return 0 if worst < 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
