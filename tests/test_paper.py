"""The paper's template machinery and the notebooks' sources (CI runs the builds themselves)."""

import importlib.util
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def build():
    return _load("povsim_paper_build", ROOT / "paper" / "build.py")


def test_template_has_no_hand_typed_numbers(build):
    assert build.hand_typed_numbers(build.TEMPLATE.read_text(encoding="utf-8")) == []


def test_template_placeholders_are_well_formed(build):
    text = build.TEMPLATE.read_text(encoding="utf-8")
    names = build.PLACEHOLDER.findall(text)
    assert len(names) > 50
    # every "{{" opens a placeholder the build recognises
    assert text.count("{{") == len(names) == text.count("}}")


def test_hand_typed_numbers_are_found(build):
    text = (
        "A check of 1000 households in {{ villages }} villages (2018; Kish 1965), "
        "the 1–2 household claim, see Figure 3 (±2 MCSE), 3.2 flags per 10,000.\n"
        "![Figure 1. Caption with 5 % typed](figures/a1.png)\n"
        "## References\n- Kish, L. (1965). Survey Sampling, 643 pages."
    )
    assert build.hand_typed_numbers(text) == ["1000", "3.2", "5"]


def test_mc_values_carry_their_mcse(build):
    v = build.mc(0.0532, 0.0021)
    assert v.text == "5.3 ± 0.2 %"
    assert (v.value, v.mcse, v.kind) == (0.0532, 0.0021, "mc")
    assert build.mc(1.234, 0.01, scale=1, digits=2, unit="").text == "1.23 ± 0.01"
    assert build.mc(0.9975, 0.00005, digits=2).text == "99.750 ± 0.005 %"
    assert build.mc(2.11, 0.003, scale=1, digits=2, unit="").text == "2.110 ± 0.003"
    assert build.mc(1.0, 0.0, scale=1, digits=2, unit="").text == "1.00 ± 0.00"
    assert "undefined" in build.mc(math.nan, math.nan).text
    with pytest.raises(ValueError, match="MCSE"):
        build.mc(0.5, math.nan)


def test_fill_replaces_every_placeholder(build):
    values = {"a": build.mc(0.25, 0.01), "b": build.count(1000)}
    assert build.fill("P {{ a }} with {{b}} checks", values) == "P 25.0 ± 1.0 % with 1,000 checks"


def test_fill_refuses_a_missing_value(build):
    with pytest.raises(ValueError, match="without a value: b"):
        build.fill("{{ a }} and {{ b }}", {"a": build.count(1)})


def test_fill_refuses_a_monte_carlo_value_without_mcse(build):
    bad = build.Value("25 %", 0.25, 0.01, "mc")
    with pytest.raises(ValueError, match="MCSE"):
        build.fill("{{ a }}", {"a": bad})


def test_fill_refuses_typed_numbers(build):
    with pytest.raises(ValueError, match="typed by hand"):
        build.fill("{{ a }} of 1000", {"a": build.count(1)})


def test_markdown_renderer(build, tmp_path):
    (tmp_path / "f.png").write_bytes(b"\x89PNG fake")
    text = (
        "# Title\n\nA *b* **c** `d` [e](http://x) <tag> & more\n\n- one\n- two\n  cont\n\n"
        "| h1 | h2 |\n|---|---|\n| x | y |\n\n> quote\n\n![Cap](f.png)\n"
    )
    page = build.markdown_to_html(text, base=tmp_path)
    assert '<h1 id="title">Title</h1>' in page
    assert "<em>b</em> <strong>c</strong> <code>d</code>" in page
    assert '<a href="http://x">e</a>' in page and "&lt;tag&gt; &amp; more" in page
    assert "<li>one</li><li>two cont</li>" in page
    assert "<th>h1</th>" in page and "<td>y</td>" in page
    assert "<blockquote><p>quote</p></blockquote>" in page
    assert "data:image/png;base64," in page and "<figcaption>Cap</figcaption>" in page


def test_sizes_quick_is_smaller(build):
    quick, full = build.Sizes.make(True), build.Sizes.make(False)
    assert quick.default_checks < full.default_checks
    assert 0.015 in quick.oc_rates and 0.025 in quick.oc_rates
    assert 0.015 in full.oc_rates and 0.025 in full.oc_rates


def test_notebooks_are_generated_and_output_free():
    nbformat = pytest.importorskip("nbformat")
    make = _load("povsim_notebooks_make", ROOT / "notebooks" / "_make.py")
    assert make.main(["--check"]) == 0, "run python notebooks/_make.py"
    names = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    assert len(names) >= 5
    for name in names:
        nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None
        sources = "\n".join(c.source for c in nb.cells)
        assert "POVSIM_QUICK" in sources


def test_citation_version_matches_the_package():
    text = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    ns = {}
    exec((ROOT / "povsim" / "_version.py").read_text(encoding="utf-8"), ns)
    assert "cff-version: 1.2.0" in text
    assert f"\nversion: {ns['__version__']}\n" in text
    for name in ("Kish", "Rogan", "Gladen", "Morris", "Crowther"):
        assert name in text
