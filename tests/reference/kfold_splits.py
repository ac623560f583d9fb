"""Expected folds of `KFold { folds, seed }.splits(samples)` for tests/tune.rs, written from the
specification rather than from the Rust code:

- SplitMix64 (Steele, Lea and Flood 2014; the constants of Vigna's reference C code),
- a Fisher-Yates shuffle of 0..samples from the last position down, j = next() % (i + 1),
- scikit-learn's KFold fold sizes: the first samples % folds folds get one extra sample,
  each fold a contiguous run of the shuffled order; both index lists then sorted.

Run: python3 tests/reference/kfold_splits.py
"""

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)


def kfold(samples, folds, seed):
    order = list(range(samples))
    rng = SplitMix64(seed)
    for i in range(samples - 1, 0, -1):
        j = rng.next() % (i + 1)
        order[i], order[j] = order[j], order[i]
    sizes = [samples // folds + (1 if k < samples % folds else 0) for k in range(folds)]
    start, result = 0, []
    for size in sizes:
        validation = sorted(order[start:start + size])
        train = sorted(order[:start] + order[start + size:])
        result.append((train, validation))
        start += size
    return result


assert SplitMix64(0).next() == 0xE220A8397B1DCDAF  # the reference's first output for seed 0

for samples, folds, seed in [(10, 3, 0), (10, 3, 1)]:
    print(f"// samples {samples}, folds {folds}, seed {seed}: validation folds")
    print("[" + ", ".join("&" + str(v) for _, v in kfold(samples, folds, seed)) + "]")
