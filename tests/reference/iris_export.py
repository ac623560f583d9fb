"""Shared by export_pytorch.py and export_keras.py: the iris data and Rust constant literals.

Not a script of its own. The data is examples/data/iris.csv when the repository has it, else
/work/shared/data/iris.csv, or the file given with `--data PATH` to either script.
"""

import argparse
import pathlib

import numpy as np

REPOSITORY = pathlib.Path(__file__).resolve().parent.parent.parent
FIXTURES = REPOSITORY / "tests" / "fixtures"
DATA_CANDIDATES = (
    REPOSITORY / "examples" / "data" / "iris.csv",
    pathlib.Path("/work/shared/data/iris.csv"),
)
# 0-based data rows whose outputs are recorded: two easy ones (setosa, virginica) and three near
# the versicolor/virginica boundary, where a wrong weight would change the outputs the most.
ROWS = (0, 70, 77, 106, 133)
ROWS_DOC = "0-based rows of iris.csv (after the header) used as inputs."


def iris(argv=None):
    """Features (150, 4) as float64 and labels (150,) as int64, from the CSV."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=pathlib.Path, help="iris.csv (header row, label last)")
    path = parser.parse_args(argv).data
    if path is None:
        path = next((p for p in DATA_CANDIDATES if p.exists()), None)
        if path is None:
            raise SystemExit(f"iris.csv not found in {[str(p) for p in DATA_CANDIDATES]}")
    table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    assert table.shape == (150, 5), table.shape
    return table[:, :4], table[:, 4].astype(np.int64)


def labels_doc(labels, outputs):
    """Names the rows whose largest logit is not their label, so no test expects otherwise."""
    wrong = [str(row) for row, label, out in zip(ROWS, labels, outputs) if out.argmax() != label]
    doc = "Their labels: 0 setosa, 1 versicolor, 2 virginica."
    if wrong:
        doc += f" The model misclassifies row {', '.join(wrong)}."
    return doc


def rust_float(value, dtype):
    """The shortest literal that reads back as the same `dtype` value (so clippy's
    excessive_precision has nothing to say), always with a `.` or an exponent."""
    if dtype == np.float32:
        text = np.format_float_positional(np.float32(value), unique=True, trim="0")
    else:
        text = repr(float(value))
    return text


def rust_array(values, dtype, indent, prefix=0):
    """An array literal laid out as rustfmt would: on one line when its items take at most 60
    columns (array_width) and the line, `prefix` columns of text before the array and a `,` or
    `;` after it, fits in 100 (max_width); otherwise one item per line."""
    if np.ndim(values) == 1:
        if np.issubdtype(np.asarray(values).dtype, np.integer):
            items = [str(int(v)) for v in values]
        else:
            items = [rust_float(v, dtype) for v in values]
    else:
        items = [rust_array(row, dtype, indent + 4) for row in values]
    inline = "[" + ", ".join(items) + "]"
    fits = len(inline) - 2 <= 60 and indent + prefix + len(inline) + 1 <= 100
    if "\n" not in inline and fits:
        return inline
    inner = " " * (indent + 4)
    return "[\n" + "".join(f"{inner}{item},\n" for item in items) + " " * indent + "]"


def rust_const(name, values, element, doc):
    """`/// doc` then `pub const NAME: [[element; N]; M] = ...;` for a numpy array."""
    dtype = {"f32": np.float32, "f64": np.float64}.get(element)
    kind = element
    for n in reversed(np.shape(values)):
        kind = f"[{kind}; {n}]"
    head = f"pub const {name}: {kind} = "
    return f"/// {doc}\n{head}{rust_array(values, dtype, 0, len(head))};\n"
