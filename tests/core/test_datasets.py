"""Datasets: shapes, values, splits, standardisation, shipped classics and every CSV refusal."""

from __future__ import annotations

import numpy as np
import pytest
from special_files import not_regular, refusal_within

from odeprop.core import dataset_kinds, datasets
from odeprop.core.config import DATASET_KINDS, DatasetConfig
from odeprop.core.datasets import Dataset, DatasetError, csv_columns, csv_preview, load_dataset

TWO_D_BINARY = ("moons", "circles", "xor_quadrants", "spirals")


def load(**fields) -> Dataset:
    return load_dataset(DatasetConfig(**fields))


def raw(**fields) -> Dataset:
    return load(standardize=False, **fields)


def both_X(ds: Dataset) -> np.ndarray:
    return np.concatenate([ds.X_train, ds.X_test])


def both_y(ds: Dataset) -> np.ndarray:
    return np.concatenate([ds.y_train, ds.y_test])


# -- toy problems --------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", TWO_D_BINARY)
def test_binary_2d_shapes_and_labels(kind):
    ds = load(kind=kind, n_samples=200, test_fraction=0.25)
    assert ds.task == "classification"
    assert (ds.n_train, ds.n_test) == (150, 50)
    assert ds.X_train.shape == (150, 2) and ds.X_test.shape == (50, 2)
    assert ds.X_train.dtype == np.float64 and ds.y_train.dtype == np.int64
    assert ds.y_train.shape == (150,) and ds.y_test.shape == (50,)
    assert ds.n_classes == ds.n_outputs == 2 and ds.n_features == 2
    assert set(ds.y_train) == set(ds.y_test) == {0, 1}
    assert np.bincount(both_y(ds)).tolist() == [100, 100]
    assert ds.feature_names == ("x1", "x2") and len(ds.target_names) == 2


def test_moons_without_noise_lie_on_two_half_circles():
    ds = raw(kind="moons", n_samples=100, noise=0.0)
    X, y = both_X(ds), both_y(ds)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0)
    assert upper[:, 1].min() >= -1e-12 and lower[:, 1].max() <= 0.5 + 1e-12
    assert ds.name == "two moons (100 points, noise 0)"


def test_circles_without_noise_have_radii_one_and_a_half():
    ds = raw(kind="circles", n_samples=60, noise=0.0)
    radius = np.hypot(*both_X(ds).T)
    np.testing.assert_allclose(radius[both_y(ds) == 0], 1.0)
    np.testing.assert_allclose(radius[both_y(ds) == 1], 0.5)


def test_noise_has_the_configured_standard_deviation():
    exact, noisy = raw(kind="circles", n_samples=4000, noise=0.0), raw(kind="circles",
                                                                       n_samples=4000, noise=0.2)
    jitter = both_X(noisy) - both_X(exact)  # same seed: same split, same order
    assert jitter.std() == pytest.approx(0.2, rel=0.05)


def test_xor_quadrants_label_is_opposite_signs():
    ds = raw(kind="xor_quadrants", n_samples=400, noise=0.0)
    X, y = both_X(ds), both_y(ds)
    assert np.all(np.abs(X) <= 1)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(int))
    assert np.bincount(y).tolist() == [200, 200]
    # uniform: each quadrant holds about a quarter of the points
    quadrant = 2 * (X[:, 0] > 0) + (X[:, 1] > 0)
    assert np.all(np.abs(np.bincount(quadrant) - 100) < 30)


def test_xor_quadrants_balanced_even_for_four_points():
    for seed in range(20):
        assert np.bincount(both_y(load(kind="xor_quadrants", n_samples=4, seed=seed))).tolist() \
            == [2, 2]


def test_blobs_centres_on_circle_of_radius_three():
    ds = raw(kind="blobs", n_classes=4, n_samples=4000, noise=0.0)
    X, y = both_X(ds), both_y(ds)
    assert sorted(set(y)) == [0, 1, 2, 3] and ds.n_classes == 4
    assert ds.target_names == ("blob 0", "blob 1", "blob 2", "blob 3")
    centres = np.array([X[y == c].mean(axis=0) for c in range(4)])
    np.testing.assert_allclose(centres, [[3, 0], [0, 3], [-3, 0], [0, -3]], atol=0.05)
    assert X[y == 0].std(axis=0) == pytest.approx([0.5, 0.5], rel=0.1)


def test_blobs_sd_grows_with_noise():
    ds = raw(kind="blobs", n_classes=2, n_samples=4000, noise=1.0)
    assert both_X(ds)[both_y(ds) == 0].std(axis=0) == pytest.approx([1.5, 1.5], rel=0.1)


def test_blobs_refuse_fewer_than_two_samples_per_blob():
    with pytest.raises(DatasetError, match=r"^dataset.n_samples: 3 blobs need at least 6 samples"):
        load(kind="blobs", n_classes=3, n_samples=5)


def test_spirals_are_point_symmetric_and_span_the_classic_radii():
    ds = raw(kind="spirals", n_samples=194, noise=0.0)
    X, y = both_X(ds), both_y(ds)
    a, b = X[y == 0], X[y == 1]
    radius = np.hypot(*a.T)
    assert radius.max() == pytest.approx(6.5) and radius.min() == pytest.approx(6.5 * 8 / 104)
    np.testing.assert_allclose(np.sort(np.hypot(*b.T)), np.sort(radius))
    np.testing.assert_allclose(np.sort(-b, axis=0), np.sort(a, axis=0))


def test_sin_regression_values():
    ds = raw(kind="sin", n_samples=300, noise=0.0)
    assert ds.task == "regression" and ds.n_classes is None and ds.n_outputs == 1
    assert ds.X_train.shape == (225, 1) and ds.y_train.shape == (225, 1)
    assert ds.y_train.dtype == np.float64
    assert ds.feature_names == ("x",) and ds.target_names == ("sin(2πx)",)
    X, y = both_X(ds), np.concatenate([ds.y_train, ds.y_test])
    assert X.min() >= 0 and X.max() <= 1
    np.testing.assert_allclose(y, np.sin(2 * np.pi * X), atol=1e-12)
    noisy = raw(kind="sin", n_samples=3000, noise=0.3)
    residual = np.concatenate([noisy.y_train - np.sin(2 * np.pi * noisy.X_train)])
    assert residual.std() == pytest.approx(0.3, rel=0.08)


def test_xor_is_the_four_boolean_points_all_for_training():
    ds = raw(kind="xor", n_samples=500, noise=3.0, test_fraction=0.5)
    assert (ds.n_train, ds.n_test) == (4, 0) and ds.X_test.shape == (0, 2)
    table = {tuple(x): int(label) for x, label in zip(ds.X_train, ds.y_train, strict=True)}
    assert table == {(0.0, 0.0): 0, (0.0, 1.0): 1, (1.0, 0.0): 1, (1.0, 1.0): 0}
    standardised = load(kind="xor")
    assert set(np.unique(standardised.X_train)) == {-1.0, 1.0}


def test_encoder_is_four_one_hot_patterns_reproduced():
    ds = raw(kind="encoder", n_samples=300, noise=1.0, test_fraction=0.5)
    assert ds.task == "regression" and ds.n_outputs == 4 and ds.n_classes is None
    assert (ds.n_train, ds.n_test) == (4, 0) and ds.y_test.shape == (0, 4)
    np.testing.assert_array_equal(ds.y_train, ds.X_train)
    assert sorted(map(tuple, ds.X_train)) == sorted(map(tuple, np.eye(4)))
    assert ds.feature_names == ("in1", "in2", "in3", "in4")
    assert ds.target_names == ("out1", "out2", "out3", "out4")


# -- seeds, splits, standardisation --------------------------------------------------------------
@pytest.mark.parametrize("kind", [*TWO_D_BINARY, "blobs", "sin", "iris", "digits"])
def test_same_seed_same_data_other_seed_other_data(kind):
    a, b, c = load(kind=kind, seed=3), load(kind=kind, seed=3), load(kind=kind, seed=4)
    for name in ("X_train", "y_train", "X_test", "y_test", "mean", "scale"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.X_train, c.X_train)


def test_stratified_split_keeps_every_class_in_train():
    for seed in range(10):
        ds = load(kind="blobs", n_classes=10, n_samples=20, test_fraction=0.9, seed=seed)
        assert sorted(set(ds.y_train)) == list(range(10))
        assert ds.n_train + ds.n_test == 20
    ds = load(kind="blobs", n_classes=4, n_samples=400, test_fraction=0.3)
    assert np.bincount(ds.y_test).tolist() == [30, 30, 30, 30]
    assert np.bincount(ds.y_train).tolist() == [70, 70, 70, 70]


def test_split_is_shuffled_not_blocked_by_class():
    ds = load(kind="moons", n_samples=200)
    assert 0 < ds.y_train[:20].sum() < 20


def test_zero_test_fraction_gives_an_empty_test_set():
    ds = load(kind="moons", test_fraction=0.0)
    assert ds.n_train == 200 and ds.n_test == 0
    assert ds.X_test.shape == (0, 2) and ds.y_test.shape == (0,)
    sin = load(kind="sin", test_fraction=0.0)
    assert sin.X_test.shape == (0, 1) and sin.y_test.shape == (0, 1)


def test_standardisation_uses_train_statistics_only():
    ds, plain = load(kind="blobs", n_samples=300), raw(kind="blobs", n_samples=300)
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(ds.X_train.std(axis=0), 1, atol=1e-12)
    np.testing.assert_allclose(ds.mean, plain.X_train.mean(axis=0))
    np.testing.assert_allclose(ds.scale, plain.X_train.std(axis=0))
    assert not np.allclose(ds.X_test.mean(axis=0), 0, atol=1e-6)
    assert not np.allclose(ds.X_test.std(axis=0), 1, atol=1e-6)
    np.testing.assert_allclose(ds.transform(plain.X_test), ds.X_test)
    np.testing.assert_allclose(ds.transform(plain.X_train), ds.X_train)
    np.testing.assert_array_equal(ds.y_train, plain.y_train)


def test_unstandardised_data_has_identity_offsets():
    ds = raw(kind="iris")
    np.testing.assert_array_equal(ds.mean, np.zeros(4))
    np.testing.assert_array_equal(ds.scale, np.ones(4))
    np.testing.assert_array_equal(ds.transform(ds.X_test), ds.X_test)


def test_transform_takes_any_leading_shape_and_checks_the_last():
    ds = load(kind="moons")
    grid = np.stack(np.meshgrid(np.linspace(-1, 2, 5), np.linspace(-1, 1, 4)), axis=-1)
    out = ds.transform(grid)
    assert out.shape == (4, 5, 2)
    np.testing.assert_allclose(out, (grid - ds.mean) / ds.scale)
    with pytest.raises(ValueError, match="2 features"):
        ds.transform(np.zeros((3, 3)))


def test_bounds_are_min_and_max_over_train_and_test_in_model_space():
    ds = load(kind="spirals")
    bounds = ds.bounds
    assert bounds.shape == (2, 2)
    X = both_X(ds)
    np.testing.assert_array_equal(bounds[:, 0], X.min(axis=0))
    np.testing.assert_array_equal(bounds[:, 1], X.max(axis=0))
    assert np.all(bounds[:, 0] < 0) and np.all(bounds[:, 1] > 0)


def test_arrays_are_read_only():
    ds = load(kind="moons")
    with pytest.raises(ValueError, match="read-only"):
        ds.X_train[0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        ds.y_test[0] = 1


def test_dataset_checks_what_it_is_given():
    with pytest.raises(ValueError, match="X_train has 3 rows but y_train has 2"):
        Dataset("x", "regression", np.zeros((3, 1)), np.zeros((2, 1)), np.zeros((0, 1)),
                np.zeros((0, 1)), None, ("a",), ("b",), np.zeros(1), np.ones(1))
    with pytest.raises(ValueError, match="labels 0..1"):
        Dataset("x", "classification", np.zeros((2, 1)), [0, 2], np.zeros((0, 1)), [], 2,
                ("a",), ("n", "p"), np.zeros(1), np.ones(1))
    ds = Dataset("x", "regression", np.zeros((2, 1)), [1.0, 2.0], np.zeros((0, 1)), [], None,
                 ("a",), ("b",), np.zeros(1), np.ones(1))
    assert ds.y_train.shape == (2, 1) and ds.y_test.shape == (0, 1)


# -- shipped classics ----------------------------------------------------------------------------
def test_iris_is_fishers_150_flowers():
    ds = raw(kind="iris", n_samples=10, noise=5.0)
    assert ds.n_train + ds.n_test == 150 and ds.n_features == 4
    assert ds.n_classes == 3 and ds.target_names == ("setosa", "versicolor", "virginica")
    assert ds.feature_names == ("sepal_length", "sepal_width", "petal_length", "petal_width")
    assert np.bincount(both_y(ds)).tolist() == [50, 50, 50]
    assert np.bincount(ds.y_train).tolist() == [37, 37, 37]
    X, y = both_X(ds), both_y(ds)
    first = np.flatnonzero((X == [5.1, 3.5, 1.4, 0.2]).all(axis=1))
    assert first.size == 1 and y[first[0]] == 0
    np.testing.assert_allclose(X[y == 0].mean(axis=0), [5.006, 3.428, 1.462, 0.246])
    np.testing.assert_allclose(X.sum(), 2078.7)


def test_digits_are_1797_images_of_64_pixels():
    ds = raw(kind="digits", test_fraction=0.2)
    assert ds.n_train + ds.n_test == 1797 and ds.n_features == 64
    assert ds.n_classes == 10 and ds.target_names == tuple(str(d) for d in range(10))
    assert ds.feature_names[0] == "pixel_0" and ds.feature_names[-1] == "pixel_63"
    counts = np.bincount(both_y(ds))
    assert counts.sum() == 1797 and counts.min() == 174 and counts.max() == 183
    X = both_X(ds)
    assert X.min() == 0 and X.max() == 16 and np.all(X == np.round(X))
    assert set(ds.y_test) == set(range(10))


def test_digits_constant_pixels_keep_scale_one():
    ds = load(kind="digits")
    constant = np.ptp(ds.X_train * ds.scale, axis=0) == 0
    assert constant[0]  # the top-left pixel is always blank
    np.testing.assert_array_equal(ds.scale[constant], 1.0)
    assert np.all(np.isfinite(ds.X_train)) and np.all(np.isfinite(ds.X_test))


# -- CSV files -----------------------------------------------------------------------------------
@pytest.fixture
def write(tmp_path):
    def write(text: str | bytes, name: str = "data.csv"):
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return str(path)
    return write


def from_csv(path, target="label", **fields) -> Dataset:
    return load(kind="csv", csv_path=path, target_column=target, **fields)


GOOD = "x1,x2,label\n0,1,cat\n1,2,dog\n0,3,cat\n1,4,dog\n0,5,cat\n1,6,dog\n2,7,emu\n2,8,emu\n"


def test_csv_with_text_labels_loads_with_class_names(write):
    ds = from_csv(write(GOOD), standardize=False, test_fraction=0.0)
    assert ds.task == "classification" and ds.n_classes == 3
    assert ds.target_names == ("cat", "dog", "emu")
    assert ds.feature_names == ("x1", "x2")
    assert ds.n_train == 8 and ds.n_test == 0
    # x1 encodes the class, x2 the row: every row kept its label
    np.testing.assert_array_equal(ds.X_train[:, 0], ds.y_train)
    assert sorted(ds.X_train[:, 1]) == list(range(1, 9))
    assert ds.name == "data.csv (8 rows, target 'label')"


def test_csv_split_is_stratified(write):
    ds = from_csv(write(GOOD), test_fraction=0.5)
    assert set(ds.y_train) == {0, 1, 2} and ds.n_train + ds.n_test == 8
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0, atol=1e-12)


def test_csv_numeric_labels_sort_numerically(write):
    text = "a,y\n" + "".join(f"{i},{label}\n" for i, label in enumerate([10, 2, 10, 2, 9, 9]))
    ds = from_csv(write(text), target="y", test_fraction=0.0, standardize=False)
    assert ds.task == "classification" and ds.target_names == ("2", "9", "10")
    np.testing.assert_array_equal(ds.y_train[np.argsort(ds.X_train[:, 0])], [2, 0, 2, 0, 1, 1])


@pytest.mark.parametrize(("values", "task"), [
    (["a", "b"] * 3, "classification"),
    (["0", "1"] * 3, "classification"),
    (["1.0", "3", "-2"] * 2, "classification"),
    ([str(i) for i in range(20)], "classification"),
    ([str(i) for i in range(21)], "regression"),
    (["0.5", "1.5", "0.5", "1.5"], "regression"),
    (["1e3", "2.25", "7", "8"], "regression"),
])
def test_csv_auto_task(write, values, task):
    text = "x,t\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values))
    ds = from_csv(write(text), target="t", task="auto", test_fraction=0.0)
    assert ds.task == task
    if task == "regression":
        assert ds.n_classes is None and ds.y_train.shape == (len(values), 1)
        assert ds.target_names == ("t",)
        np.testing.assert_allclose(np.sort(ds.y_train[:, 0]), np.sort(np.array(values, float)))


def test_csv_explicit_task_overrides_the_guess(write):
    text = "x,t\n" + "".join(f"{i},{i % 2}\n" for i in range(6))
    ds = from_csv(write(text), target="t", task="regression")
    assert ds.task == "regression" and ds.y_train.dtype == np.float64
    text = "x,t\n" + "".join(f"{i},{0.5 + i % 2}\n" for i in range(6))
    ds = from_csv(write(text), target="t", task="classification")
    assert ds.task == "classification" and ds.target_names == ("0.5", "1.5")


def test_csv_target_may_be_any_column_and_spaces_bom_blank_rows_are_tolerated(write):
    text = "\ufeff\n  \nlabel ; x1 ; x2\n\n a ; 1 ; 2 \nb;3;4\n\na;5;6\nb;7;8\n;;\n"
    ds = from_csv(write(text), target="label", test_fraction=0.0, standardize=False)
    assert ds.feature_names == ("x1", "x2") and ds.target_names == ("a", "b")
    assert sorted(map(tuple, ds.X_train)) == [(1, 2), (3, 4), (5, 6), (7, 8)]


def test_csv_tab_separated(write):
    ds = from_csv(write("x\ty\n1\t0\n2\t1\n3\t0\n4\t1\n"), target="y", test_fraction=0)
    assert ds.n_train == 4 and ds.feature_names == ("x",)


def test_csv_constant_column_gets_scale_one(write):
    text = "c,x,label\n" + "".join(f"0.1,{i},{i % 2}\n" for i in range(8))
    ds = from_csv(write(text), test_fraction=0.25)
    assert ds.scale[0] == 1.0 and ds.mean[0] == pytest.approx(0.1)
    np.testing.assert_allclose(ds.X_train[:, 0], 0, atol=1e-15)


def test_csv_quoted_cells_with_commas(write):
    text = 'x,"kind, long"\n1,"a, b"\n2,c\n3,"a, b"\n4,c\n'
    ds = from_csv(write(text), target="kind, long", test_fraction=0)
    assert ds.target_names == ("a, b", "c")


def test_csv_read_in_chunks_matches_and_names_rows_in_later_chunks(write, monkeypatch):
    text = "x1,x2,label\n" + "".join(f"{i},{i * i},{i % 3}\n" for i in range(40))
    whole = from_csv(write(text))
    monkeypatch.setattr(datasets, "_CHUNK_ROWS", 7)
    chunked = from_csv(write(text))
    np.testing.assert_array_equal(chunked.X_train, whole.X_train)
    np.testing.assert_array_equal(chunked.y_test, whole.y_test)
    bad = text.replace("\n33,", "\n3x,")
    with pytest.raises(DatasetError, match=r"row 35, column 'x1': '3x' is not a number"):
        from_csv(write(bad))


def test_csv_columns_and_preview(write):
    path = write(GOOD)
    assert csv_columns(path) == ["x1", "x2", "label"]
    header, rows = csv_preview(path, n_rows=2)
    assert header == ["x1", "x2", "label"]
    assert rows == [["0", "1", "cat"], ["1", "2", "dog"]]
    assert len(csv_preview(path)[1]) == 8
    ragged = write("a,,c\n1,2\n", name="ragged.csv")
    assert csv_columns(ragged) == ["a", "column 2", "c"]
    assert csv_preview(ragged) == (["a", "column 2", "c"], [["1", "2"]])


def test_csv_columns_refuses_unreadable_files(write, tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        csv_columns(tmp_path / "nope.csv")
    with pytest.raises(DatasetError, match="not UTF-8"):
        csv_columns(write(b"\xff\xfe\x00a", name="bin.csv"))
    with pytest.raises(DatasetError, match="the file is empty"):
        csv_preview(write("", name="empty.csv"))


# Every refusal, with the message it gives. Rows count as in a spreadsheet: header = row 1.
@pytest.mark.parametrize(("text", "fields", "message"), [
    ("", {}, r"^data\.csv: the file is empty$"),
    ("\n\n  \n", {}, r"the file is empty"),
    ("a,b,label\n", {}, r"^data\.csv: no data rows, only a header$"),
    ("a,b,c\n1,2,3\n", {},
     r"^data\.csv: column 'label' not found; columns are: a, b, c$"),
    ("x1,x2,x3,label\n1,2,3,a\n1,2,3,b\n\n1,2\n", {},
     r"^data\.csv: row 5 has 2 cells, the header has 4$"),
    ("\nx1,x2,x3,label\n1,2,3,a\n1,2,3\n", {},
     r"^data\.csv: row 4 has 3 cells, the header has 4$"),
    ("x1,x2,label\n1,2,a\n1,2,b\n1,2,a\n1,,b\n", {},
     r"^data\.csv: row 5, column 'x2': empty cell$"),
    ("x1,x2,label\n1,2,a\n1,2,b\n1,2,a\n1,2,\n", {},
     r"^data\.csv: row 5, column 'label': empty cell$"),
    ("x1,x2,label\n1,2,a\n1,2,b\nabc,2,a\n1,2,b\n", {},
     r"^data\.csv: row 4, column 'x1': 'abc' is not a number$"),
    ("x1,x2,label\n1,2,a\n1,nan,b\n1,2,a\n1,2,b\n", {},
     r"^data\.csv: row 3, column 'x2': 'nan' is not a finite number$"),
    ("x1,x2,label\n1,2,a\n1,2,b\n1,2,a\n-inf,2,b\n", {},
     r"^data\.csv: row 5, column 'x1': '-inf' is not a finite number$"),
    ("x,y\n1,1\n2,NaN\n3,1\n4,2\n", {"target": "y"},
     r"row 3, column 'y': 'NaN' is not a finite number"),
    ("x,label\n1,a\n2,a\n3,a\n4,a\n", {},
     r"^data\.csv: column 'label' has a single class 'a'; classification needs at least 2$"),
    ("x,label\n1,a\n2,b\n3,a\n", {}, r"^data\.csv: 3 data rows; at least 4 are needed$"),
    ("x,label\n1,a\n2,b\n3,a\n4,b\n5,c\n", {"test_fraction": 0.2},
     r"^data\.csv: class 'c' of column 'label' has only 1 row; each class needs at least 2"),
    ("label\na\nb\na\nb\n", {}, r"^data\.csv: no feature columns; the file has only the target"),
    ("x,y\n1,0.5\n2,1.5\n3,high\n4,2.5\n", {"target": "y", "task": "regression"},
     r"^data\.csv: row 4, column 'y': 'high' is not a number \(a regression target must be "
     r"numeric\)$"),
    ("x,label,x\n1,a,2\n", {}, r"^data\.csv: column 'x' appears twice in the header \(columns 1 "
     r"and 3\)$"),
    ("x,label\n1,a\n2,\"b" + "z" * 200_000 + "\"\n", {}, r"^data\.csv: row 3: not valid CSV"),
    # the FIRST bad row is named, whatever comes later and in whichever column
    ("x1,x2,label\n1,2,a\n1,x,b\n1,2,a\n1,2\n", {},
     r"^data\.csv: row 3, column 'x2': 'x' is not a number$"),
    ("x1,x2,label\n1,2,a\n1,2,\n1,2,a\n1,y,b\n", {},
     r"^data\.csv: row 3, column 'label': empty cell$"),
    ("x,y\n1,0.5\n2,high\n3,1.5\nz,2.5\n", {"target": "y", "task": "regression"},
     r"^data\.csv: row 3, column 'y': 'high' is not a number"),
    ("x1,x2,label\n1,2\x00,a\n1,2,b\n1,2,a\n1,2,b\n", {},
     r"^data\.csv: row 2, column 'x2': a NUL character \(\\0\) in the cell; is it a binary "
     r"file\?$"),
    ("x,label\n" + "".join(f"{i},name {i}\n" for i in range(1001)), {"test_fraction": 0.0},
     r"^dataset\.target_column: column 'label' of data\.csv holds 1,001 distinct labels; "
     r"classification is limited to 1,000 classes\. Is it an identifier\?"),
])
def test_csv_refusals(write, text, fields, message):
    with pytest.raises(DatasetError, match=message):
        from_csv(write(text), **fields)


def test_csv_class_of_one_row_is_fine_without_a_test_split(write):
    ds = from_csv(write("x,label\n1,a\n2,b\n3,a\n4,b\n5,c\n"), test_fraction=0.0)
    assert ds.target_names == ("a", "b", "c") and ds.n_train == 5


def test_csv_missing_unreadable_and_non_utf8_files(write, tmp_path):
    with pytest.raises(DatasetError, match=r"nope\.csv: no such file$"):
        from_csv(str(tmp_path / "nope.csv"))
    with pytest.raises(DatasetError, match=r"is a folder, not a CSV file$"):
        from_csv(str(tmp_path))
    latin1 = "x,label\n1,caf\xe9\n2,b\n3,a\n4,b\n".encode("latin-1")
    with pytest.raises(DatasetError, match=r"^data\.csv: not UTF-8 text; save it as a UTF-8 CSV"):
        from_csv(write(latin1))


def test_csv_too_large_files_are_refused(write, monkeypatch):
    text = "x,label\n" + "".join(f"{i},{i % 2}\n" for i in range(12))
    monkeypatch.setattr(datasets, "MAX_CSV_ROWS", 11)
    with pytest.raises(DatasetError, match=r"^data\.csv: more than 11 data rows; larger files"):
        from_csv(write(text))
    monkeypatch.setattr(datasets, "MAX_CSV_ROWS", 12)
    assert from_csv(write(text)).n_train + from_csv(write(text)).n_test == 12
    monkeypatch.setattr(datasets, "MAX_CSV_BYTES", 50)
    with pytest.raises(DatasetError, \
            match=r"^data\.csv: the file is 0\.0 MB; files over 5e-05 MB are refused$"):
        from_csv(write(text))


def test_csv_size_limits_are_the_documented_ones():
    assert datasets.MAX_CSV_BYTES == 200_000_000 and datasets.MAX_CSV_ROWS == 1_000_000


def test_dataset_error_is_a_value_error():
    assert issubclass(DatasetError, ValueError)


def test_clusters_are_high_dimensional_and_learnable():
    data = load_dataset(DatasetConfig(kind="clusters", n_samples=400, n_classes=10,
                                      n_features=784, seed=3))
    assert data.n_features == 784 and data.n_classes == 10
    assert data.n_train + data.n_test == 400
    # nearest class mean on the training split classifies most test points
    means = np.array([data.X_train[data.y_train == c].mean(axis=0) for c in range(10)])
    predicted = np.argmin(((data.X_test[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert np.mean(predicted == data.y_test) > 0.8
    again = load_dataset(DatasetConfig(kind="clusters", n_samples=400, n_classes=10, seed=3))
    np.testing.assert_array_equal(again.X_train, data.X_train)


# -- memory: one copy of the data, the same bits -------------------------------------------------
#: sha256 of X_train, X_test, y_train, y_test, mean and scale, computed before the copies were
#: taken out of the clusters generator and of the split/standardisation (commit 1add788).
DATA_HASHES = {
    "big-network": "d9738bbd7a8badf28e47e7aa093e6e5f90cf325efcf48a11726450b6f09ac74b",
    ("clusters", True): "0b7325892a14f54f27cc2c02ffb050be8b6504151fe6626c04d3c19110203118",
    ("clusters", False): "0dda2093824c068241a80f51ee71c38e848821169b8feab508ced8270512eb74",
    ("moons", True): "ebedb6d39f708495f8459966efa002b3c83ccc86ee11a89d5cc762d6cdb00c4c",
    ("sin", False): "257d61c861f867a9638af45b0e32802b3335a8bfd70ed60a934ed887a5749884",
    ("digits", True): "decb147b48df8cf6b1f8487cf48286019b65521282e2e978217911e6cc0cd639",
}


def _data_hash(ds: Dataset) -> str:
    import hashlib

    digest = hashlib.sha256()
    for array in (ds.X_train, ds.X_test, ds.y_train, ds.y_test, ds.mean, ds.scale):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


@pytest.mark.parametrize("key", list(DATA_HASHES), ids=str)
def test_datasets_are_bit_identical_to_before_the_copies_went(key):
    from odeprop.core.presets import load_preset

    if key == "big-network":
        cfg = load_preset("big-network").dataset
    else:
        kind, standardize = key
        cfg = DatasetConfig(kind=kind, n_samples=203, n_classes=7, n_features=13, noise=0.3,
                            seed=5, standardize=standardize)
    assert _data_hash(load_dataset(cfg)) == DATA_HASHES[key]


def test_building_the_big_clusters_holds_at_most_two_copies_of_the_data():
    """The big-network preset's 4,000 × 784 clusters: the unsplit draw and its split, no more
    (a peak of 100 MB for 25 MB of data before; 50 MB now)."""
    import tracemalloc

    from odeprop.core.presets import load_preset

    cfg = load_preset("big-network").dataset
    tracemalloc.start()
    try:
        ds = load_dataset(cfg)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    data = sum(a.nbytes for a in (ds.X_train, ds.X_test, ds.y_train, ds.y_test))
    assert peak < 2.2 * data, f"peak {peak / 1e6:.1f} MB for {data / 1e6:.1f} MB of data"


def test_a_dataset_copies_writable_arrays_it_is_given():
    X = np.zeros((2, 1))
    ds = Dataset("x", "regression", X, [1.0, 2.0], np.zeros((0, 1)), [], None, ("a",), ("b",),
                 np.zeros(1), np.ones(1))
    X[0, 0] = 5.0
    assert ds.X_train[0, 0] == 0.0 and X.flags.writeable and not ds.X_train.flags.writeable


@pytest.mark.parametrize("kind", sorted(dataset_kinds.INPUT_DIMENSIONS))
def test_input_dimension_is_the_datas(kind):
    """What the lab shows as the data's inputs before building them is what they have."""
    data = load(kind=kind, n_samples=60, n_classes=3)
    assert dataset_kinds.input_dimension(kind, 784) == data.n_features


def test_input_dimension_of_clusters_and_csv(write):
    assert dataset_kinds.input_dimension("clusters", 17) == 17
    path = write("a,b,c,label\n1,2,3,x\n4,5,6,y\n")
    assert dataset_kinds.input_dimension("csv", 784, csv_columns(path)) == 3
    assert dataset_kinds.input_dimension("csv", 784, None) is None  # no file read yet
    assert set(dataset_kinds.INPUT_DIMENSIONS) | {"clusters", "csv"} == set(DATASET_KINDS)


@pytest.mark.parametrize("kind", sorted(dataset_kinds.CLASS_COUNTS))
def test_class_count_is_the_datas(kind):
    """What the lab shows as the data's classes before building them is what they have
    (None: regression data, which have none)."""
    data = load(kind=kind, n_samples=60, n_classes=7)
    assert dataset_kinds.class_count(kind, 7) == data.n_classes
    assert (data.task == "regression") == (data.n_classes is None)


def test_class_count_of_blobs_clusters_and_csv():
    assert dataset_kinds.class_count("blobs", 5) == 5
    assert dataset_kinds.class_count("clusters", 12) == 12
    with pytest.raises(ValueError, match="once the file is read"):
        dataset_kinds.class_count("csv", 3)
    assert set(dataset_kinds.CLASS_COUNTS) | {"blobs", "clusters", "csv"} == set(DATASET_KINDS)


def test_csv_first_bad_row_is_named_across_chunks(write, monkeypatch):
    monkeypatch.setattr(datasets, "_CHUNK_ROWS", 3)
    rows = ["1,a"] * 3 + ["oops,b", "1,b", "1"]  # in chunk 2: a bad number, then a ragged row
    with pytest.raises(DatasetError, match=r"^data\.csv: row 5, column 'x': 'oops'"):
        from_csv(write("x,label\n" + "\n".join(rows) + "\n"))


def test_csv_a_line_without_end_is_refused_unread(write, monkeypatch):
    monkeypatch.setattr(datasets, "MAX_LINE_CHARS", 1000)
    with pytest.raises(DatasetError, match=r"^data\.csv: line 1 is longer than 0\.001 million "
                       r"characters; is it a CSV file\?$"):
        from_csv(write("x" * 5000))
    with pytest.raises(DatasetError, match=r"^data\.csv: line 3 is longer"):
        from_csv(write("x,label\n1,a\n" + "2" * 5000 + ",b\n"))
    assert datasets.MAX_LINE_CHARS == 1000


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
@pytest.mark.parametrize("read", [lambda p: from_csv(str(p)), csv_columns, csv_preview],
                         ids=["load", "columns", "preview"])
def test_csv_that_is_not_a_regular_file_is_refused_without_blocking(tmp_path, kind, read):
    path, words = not_regular(tmp_path, kind, ".csv")
    assert refusal_within(lambda: read(path)) == f"{path}: is {words}, not a CSV file"
