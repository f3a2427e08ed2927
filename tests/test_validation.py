"""Broken copies of the data files: validation must name the right file, row and column."""
import json
import subprocess
import sys

import pytest

from conftest import ROOT, read_rows, write_rows
from geo.data import dataset


def problems_in(data_dir) -> list[str]:
    found, problems = dataset.check(data_dir)
    assert found is None, "broken data must not load"
    return [str(p) for p in problems]


def set_cell(data_dir, filename, row_index, column, value):
    path = data_dir / filename
    rows = read_rows(path)
    rows[row_index][column] = value
    write_rows(path, rows)


def test_missing_column(data_copy):
    path = data_copy / "claims.csv"
    rows = read_rows(path)
    for row in rows:
        del row["url"]
    write_rows(path, rows)
    assert "claims.csv:1:url: missing column" in problems_in(data_copy)


def test_bad_date(data_copy):
    set_cell(data_copy, "claims.csv", 0, "as_of_date", "2024-13-45")
    assert any(p.startswith("claims.csv:2:as_of_date: '2024-13-45' is not a date") for p in problems_in(data_copy))


def test_coordinates_out_of_range(data_copy):
    set_cell(data_copy, "places.csv", 2, "lat", "95.0")
    assert any(p.startswith("places.csv:4:lat: lat 95.0 out of range") for p in problems_in(data_copy))


def test_unknown_place_id(data_copy):
    set_cell(data_copy, "events.csv", 5, "place_id", "LOC_NOWHERE")
    assert "events.csv:7:place_id: unknown place id 'LOC_NOWHERE'" in problems_in(data_copy)


def test_unknown_route_id(data_copy):
    set_cell(data_copy, "claims.csv", 0, "route_ids", "FL_MUNITIONS;L_NOWHERE")
    assert "claims.csv:2:route_ids: unknown route or flow id 'L_NOWHERE'" in problems_in(data_copy)


def test_duplicate_id(data_copy):
    path = data_copy / "events.csv"
    rows = read_rows(path)
    rows[3]["id"] = rows[1]["id"]
    write_rows(path, rows)
    assert any(p.startswith(f"events.csv:5:id: duplicate id {rows[1]['id']!r} (first on row 3)")
               for p in problems_in(data_copy))


def test_non_numeric_value(data_copy):
    set_cell(data_copy, "claims.csv", 9, "value", "lots")
    assert "claims.csv:11:value: 'lots' is not a number" in problems_in(data_copy)


def test_empty_file(data_copy):
    (data_copy / "events.csv").write_bytes(b"")
    assert "events.csv:-:-: file is empty" in problems_in(data_copy)


def test_undecodable_bytes(data_copy):
    path = data_copy / "places.csv"
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b"station", b"st\xffation", 1) if b"station" in lines[2] else lines[2] + b"\xff"
    path.write_bytes(b"\n".join(lines))
    assert any(p.startswith("places.csv:3:-: undecodable bytes") for p in problems_in(data_copy))


def test_place_outside_its_declared_country(data_copy):
    rows = read_rows(data_copy / "places.csv")
    index = next(i for i, r in enumerate(rows) if r["id"] == "LOC_RAJIN_PORT")
    set_cell(data_copy, "places.csv", index, "country", "RUS")
    assert any(p.startswith(f"places.csv:{index + 2}:country: LOC_RAJIN_PORT lies in PRK")
               for p in problems_in(data_copy))


def test_route_end_far_from_its_place(data_copy):
    path = data_copy / "routes.geojson"
    doc = json.loads(path.read_text())
    doc["features"][0]["geometry"]["coordinates"][-1] = [100.0, 50.0]
    path.write_text(json.dumps(doc))
    assert any(p.startswith("routes.geojson:1:to_place: line ends") for p in problems_in(data_copy))


def test_truncated_geojson(data_copy):
    path = data_copy / "areas.geojson"
    path.write_text(path.read_text()[:200])
    assert any(p.startswith("areas.geojson:") and "invalid JSON" in p for p in problems_in(data_copy))


def test_every_problem_is_reported_not_just_the_first(data_copy):
    set_cell(data_copy, "claims.csv", 0, "value", "x")
    set_cell(data_copy, "claims.csv", 1, "url", "ftp://example.org")
    problems = problems_in(data_copy)
    assert "claims.csv:2:value: 'x' is not a number" in problems
    assert "claims.csv:3:url: 'ftp://example.org' is not an http(s) URL" in problems


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "geo", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_cli_validate_prints_every_problem_and_fails_without_traceback(data_copy):
    set_cell(data_copy, "claims.csv", 0, "as_of_date", "soon")
    (data_copy / "events.csv").write_bytes(b"")
    result = run_cli("validate", str(data_copy))
    assert result.returncode == 1
    assert "claims.csv:2:as_of_date: 'soon' is not a date (YYYY-MM-DD)" in result.stdout
    assert "events.csv:-:-: file is empty" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_cli_validate_passes_on_bundled_data():
    result = run_cli("validate", "data")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "claims:" in result.stdout and "claimants:" in result.stdout


# --- Registries and fidelity rules (issue 11): each breaks one copy and expects file:row:column.

def row_of(data_dir, filename, record_id) -> int:
    """The index of a record in read_rows (its editor line is index + 2)."""
    return next(i for i, r in enumerate(read_rows(data_dir / filename)) if r["id"] == record_id)


def test_unknown_claimant_id(data_copy):
    set_cell(data_copy, "claims.csv", row_of(data_copy, "claims.csv", "F001"), "claimant", "NOBODY")
    assert "claims.csv:2:claimant: unknown claimant id 'NOBODY' (not in claimants.csv)" in problems_in(data_copy)


def test_unknown_metric_id(data_copy):
    set_cell(data_copy, "claims.csv", row_of(data_copy, "claims.csv", "F001"), "metric", "containers_total")
    assert "claims.csv:2:metric: unknown metric id 'containers_total' (not in metrics.csv)" in problems_in(data_copy)


def test_unknown_parent_claimant(data_copy):
    i = row_of(data_copy, "claimants.csv", "US_NSC")
    set_cell(data_copy, "claimants.csv", i, "parent", "US_WHITE_HOUSE")
    assert f"claimants.csv:{i + 2}:parent: unknown claimant id 'US_WHITE_HOUSE' (not in claimants.csv)" \
        in problems_in(data_copy)


def test_unit_must_equal_the_metrics_unit(data_copy):
    set_cell(data_copy, "claims.csv", row_of(data_copy, "claims.csv", "F001"), "unit", "shipments")
    assert ("claims.csv:2:unit: unit 'shipments' differs from metric 'containers_shipped_cumulative''s unit "
            "'containers'") in problems_in(data_copy)


def test_capacity_basis_outside_a_capacity_metric(data_copy):
    set_cell(data_copy, "claims.csv", row_of(data_copy, "claims.csv", "F016"), "basis", "capacity_estimate")
    i = row_of(data_copy, "claims.csv", "F016")
    assert any(p.startswith(f"claims.csv:{i + 2}:basis: basis 'capacity_estimate' in count metric "
                            "'artillery_shells_cumulative'") for p in problems_in(data_copy))


def test_a_capacity_metric_holds_only_capacity_estimates(data_copy):
    i = row_of(data_copy, "claims.csv", "F019")
    set_cell(data_copy, "claims.csv", i, "basis", "official_statement")
    assert any(p.startswith(f"claims.csv:{i + 2}:basis: basis 'official_statement' in capacity_estimate metric "
                            "'artillery_shells_capacity_152mm_equiv'") for p in problems_in(data_copy))


@pytest.mark.parametrize("hedge", ["more than", "over", "about", "around", "at least", "up to", "nearly"])
def test_a_hedging_note_needs_a_qualifier(data_copy, hedge):
    i = row_of(data_copy, "claims.csv", "F071")
    assert read_rows(data_copy / "claims.csv")[i]["qualifier"] == ""
    set_cell(data_copy, "claims.csv", i, "note", f"The agency said {hedge} 4,700 were killed or wounded.")
    assert f"claims.csv:{i + 2}:qualifier: the note hedges ('{hedge}') but qualifier is empty" in problems_in(data_copy)


def test_a_hedge_dropped_from_the_qualifier_is_caught(data_copy):
    set_cell(data_copy, "claims.csv", row_of(data_copy, "claims.csv", "F001"), "qualifier", "")
    assert "claims.csv:2:qualifier: the note hedges ('more than') but qualifier is empty" in problems_in(data_copy)


def test_one_briefing_stored_twice_needs_restates(data_copy):
    s007, f061 = row_of(data_copy, "claims.csv", "S007"), row_of(data_copy, "claims.csv", "F061")
    set_cell(data_copy, "claims.csv", s007, "restates", "")
    assert any(p.startswith(f"claims.csv:{s007 + 2}:restates: same claimant, metric and value as F061 "
                            f"(row {f061 + 2}) stated within 31 days") for p in problems_in(data_copy))


def test_a_restatement_weeks_later_is_caught_across_the_file(data_copy):
    """N081 repeats N087 three weeks later: beyond the old 7-day window, within the restatement rule's."""
    n081, n087 = row_of(data_copy, "claims.csv", "N081"), row_of(data_copy, "claims.csv", "N087")
    set_cell(data_copy, "claims.csv", n081, "restates", "")
    assert any(p.startswith(f"claims.csv:{n081 + 2}:restates: same claimant, metric and value as N087 "
                            f"(row {n087 + 2}) stated within 31 days") for p in problems_in(data_copy))


def test_one_assessment_credited_to_two_agencies_of_one_government_needs_restates(data_copy):
    """The Pentagon (F052) and the State Department (N044) gave the same 10,000 within a week."""
    n044, f052 = row_of(data_copy, "claims.csv", "N044"), row_of(data_copy, "claims.csv", "F052")
    set_cell(data_copy, "claims.csv", n044, "restates", "")
    assert any(p.startswith(f"claims.csv:{n044 + 2}:restates: same metric and value as F052 (row {f052 + 2}) from "
                            "another agency of the same government within 14 days") for p in problems_in(data_copy))


def test_a_restatement_chain_links_every_repeat(data_copy):
    """N085 and N044 both lead back to F052: linked through it, neither needs to name the other."""
    assert dataset.check(data_copy)[1] == []
    rows = {r["id"]: r for r in read_rows(data_copy / "claims.csv")}
    assert rows["N085"]["restates"] == rows["N044"]["restates"] == "F052"


def test_the_statement_date_lies_between_as_of_and_publication(data_copy):
    i = row_of(data_copy, "claims.csv", "F018")
    row = read_rows(data_copy / "claims.csv")[i]
    set_cell(data_copy, "claims.csv", i, "statement_date", "2030-01-01")
    problems = problems_in(data_copy)
    assert f"claims.csv:{i + 2}:statement_date: statement date 2030-01-01 is after the publication date " \
           f"{row['reported_date']}" in problems
    set_cell(data_copy, "claims.csv", i, "statement_date", "2000-01-01")
    assert any(p.startswith(f"claims.csv:{i + 2}:statement_date: statement date 2000-01-01 is before the as-of date "
                            f"{row['as_of_date']}") for p in problems_in(data_copy))


def test_every_bundled_claim_has_a_statement_date(data_copy):
    i = row_of(data_copy, "claims.csv", "F018")
    set_cell(data_copy, "claims.csv", i, "statement_date", "")
    assert f"claims.csv:{i + 2}:statement_date: empty value" in problems_in(data_copy)


def test_an_unnamed_attribution_filed_under_one_agency_is_caught(data_copy):
    """F100: the FT speaks only of 'a Ukrainian intelligence assessment'; filing it under HUR is a guess."""
    i = row_of(data_copy, "claims.csv", "F100")
    set_cell(data_copy, "claims.csv", i, "claimant", "UA_HUR")
    assert any(p.startswith(f"claims.csv:{i + 2}:claimant: attribution 'a Ukrainian intelligence assessment' names "
                            "no agency, yet the claimant is 'UA_HUR'") for p in problems_in(data_copy))


def test_an_attribution_naming_the_agency_is_not_taken_for_a_generic_one(data_copy):
    i = row_of(data_copy, "claims.csv", "F100")
    set_cell(data_copy, "claims.csv", i, "claimant", "UA_HUR")
    set_cell(data_copy, "claims.csv", i, "attribution", "a Ukrainian intelligence assessment by HUR (via Financial Times)")
    assert not any(p.startswith(f"claims.csv:{i + 2}:claimant:") for p in problems_in_or_none(data_copy))


def problems_in_or_none(data_dir) -> list[str]:
    return [str(p) for p in dataset.check(data_dir)[1]]


def test_a_disputed_claimant_names_the_other_copy(data_copy):
    i = row_of(data_copy, "claims.csv", "S004")
    set_cell(data_copy, "claims.csv", i, "alt_url", "")
    assert f"claims.csv:{i + 2}:alt_url: a disputed claimant needs the copy that credits claimant_alt" \
        in problems_in(data_copy)
    set_cell(data_copy, "claims.csv", i, "claimant_alt", "US_KR_OFFICIALS")
    set_cell(data_copy, "claims.csv", i, "alt_url", "https://example.org/copy")
    assert f"claims.csv:{i + 2}:claimant_alt: claimant_alt repeats the claimant: name the claimant the other copy " \
           "credits" in problems_in(data_copy)


def test_restates_must_name_a_claim(data_copy):
    i = row_of(data_copy, "claims.csv", "S007")
    set_cell(data_copy, "claims.csv", i, "restates", "F999")
    assert f"claims.csv:{i + 2}:restates: unknown claim id 'F999' (not in claims.csv)" in problems_in(data_copy)


@pytest.mark.parametrize("name,what", [
    ("US officials (via WSJ)", "a reporting chain ('via')"),
    ("Analysts (as summarized by Evrim Agaci)", "a reporting chain ('as summarized by')"),
    ("Ukraine President Volodymyr Zelensky", "a person ('President Volodymyr Zelensky')"),
    ("Kharkiv regional police (Serhii Bolvinov)", "a person ('(Serhii Bolvinov)')"),
])
def test_a_claimant_is_an_organisation_not_a_chain_or_a_person(data_copy, name, what):
    i = row_of(data_copy, "claimants.csv", "US_GOV")
    set_cell(data_copy, "claimants.csv", i, "name", name)
    assert f"claimants.csv:{i + 2}:name: claimant name {name!r} holds {what}: put it in claims.csv attribution" \
        in problems_in(data_copy)


def test_a_verified_claim_says_where_it_was_checked(data_copy):
    i = row_of(data_copy, "claims.csv", "F001")
    set_cell(data_copy, "claims.csv", i, "checked_url", "")
    assert any(p.startswith(f"claims.csv:{i + 2}:checked: a verified claim needs the date") for p in problems_in(data_copy))
