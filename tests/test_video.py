"""Video for slides: MP4 (H.264) and GIF of the scenes or of a run of months, decoded back."""
import imageio.v2 as imageio
import imageio.v3 as iio
import numpy as np
import pytest

from geo.view import records
from geo import export as exports
from geo import cli
from geo.export import formats as export, video


def decode_mp4(path):
    reader = imageio.get_reader(path, format="FFMPEG")
    try:
        return [frame for frame in reader], reader.get_meta_data()
    finally:
        reader.close()


def test_scene_ranges_and_lists():
    ids = ["S1", "S2", "S3", "S4"]
    assert video.scene_ids("S1-S3", ids) == ["S1", "S2", "S3"]
    assert video.scene_ids("S4, S2", ids) == ["S4", "S2"]
    assert video.scene_ids(None, ids) == ids
    for bad in ("S9", "S3-S1", "S1-S9"):
        with pytest.raises(ValueError):
            video.scene_ids(bad, ids)


def test_mp4_of_two_scenes_decodes_with_its_frame_count_size_and_changing_frames(data, tmp_path):
    shots = video.scene_shots(data, "S1-S2")
    seen = []
    path = video.write("mp4", data, shots, tmp_path / "talk.mp4", video.SIZES["1280x720"],
                       progress=lambda f, m: seen.append(f), seconds_per_shot=0.5, closing_seconds=1.0)
    frames, meta = decode_mp4(path)
    assert meta["codec"] == "h264"
    assert len(frames) == video.frame_count("mp4", 2, seconds_per_shot=0.5, closing_seconds=1.0) == 2 * 5 + 10
    assert frames[0].shape == (720, 1280, 3)
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 5  # the map, then the sources
    assert np.abs(frames[0].astype(int) - frames[5].astype(int)).mean() > 1  # scene 1, then scene 2
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_gif_of_months_decodes_at_1920x1080(data, tmp_path):
    shots = video.month_shots(data, "2024-05", "2024-06", view="tumen")
    path = video.write("gif", data, shots, tmp_path / "months.gif", video.SIZES["1920x1080"])
    frames = iio.imread(path, index=None)
    assert len(frames) == video.frame_count("gif", 2) == 3
    assert frames.shape[1:3] == (1080, 1920)
    assert np.abs(frames[0][..., :3].astype(int) - frames[-1][..., :3].astype(int)).mean() > 5


def test_every_slide_has_its_caption_month_and_legend(data):
    shot = video.month_shots(data, "2024-06", "2024-06")[0]
    assert shot.caption.startswith("This month: ") and "Putin" in shot.caption  # events.csv titles
    fig, meta = export.slide_figure(data, shot.state, None, 1280, 720, 80, heading=shot.heading, caption=shot.caption)
    texts = " ".join(t.get_text() for t in fig.texts)
    assert "June 2024" in texts and "30 June 2024" in texts
    assert shot.caption[:60] in texts.replace("\n", " ")
    assert "Sources on the closing frame" in texts
    assert fig.legends and fig.legends[0].get_texts()


def test_a_month_s_caption_names_the_analyst_s_events_of_that_month_with_their_file(data, tmp_path):
    """Imported through the importer into a workspace: the ACLED sample's two strikes of January 2024
    caption January's slide, each naming its file; February's names neither."""
    import sample_files as sf
    from geo.imports import importer
    from geo.store.workspace import Workspace
    ws = Workspace(str(tmp_path / "ws.sqlite"))
    ws.add(importer.read_file(sf.acled_csv(tmp_path / "acled.csv")))
    january, february = video.month_shots(data, "2024-01", "2024-02", snapshot=ws.snapshot())
    assert january.caption == ("This month: KN-23 hits the centre of Kharkiv; Explosions/Remote violence — Kyiv "
                               "(your file acled.csv); Explosions/Remote violence — Kharkiv (your file acled.csv).")
    assert "acled.csv" not in february.caption


def test_closing_frame_lists_the_sources(data, monkeypatch):
    captured = []
    monkeypatch.setattr(video, "figure_rgb", lambda fig: captured.append(fig) or np.zeros((1, 1, 3), np.uint8))
    video.closing_frame(data, video.scene_shots(data, "S7"), video.SIZES["1280x720"])
    text = " ".join(t.get_text() for t in captured[0].texts).replace("\n", " ")
    assert "Claims from (" in text and "Outlets (" in text and "CSIS Beyond Parallel" in text
    assert "Natural Earth" in text and data.version in text


def test_cli_writes_a_gif_of_scenes_and_refuses_bad_arguments(tmp_path, capsys):
    out = tmp_path / "talk.gif"
    assert cli.main(["export", "gif", str(out), "--scenes", "S3", "--no-workspace", "--seconds", "1"]) == 0
    assert len(iio.imread(out, index=None)) == 2
    assert cli.main(["export", "mp4", str(out), "--scenes", "S9", "--no-workspace"]) == 2
    assert cli.main(["export", "gif", str(out), "--from", "2031-01", "--no-workspace"]) == 2
    assert cli.main(["export", "png", str(out), "--scenes", "S1", "--no-workspace"]) == 2
    assert "unknown scene 'S9'" in capsys.readouterr().err


def test_export_offers_mp4_and_gif_as_the_scene_sequence(data, monkeypatch):
    calls = []
    monkeypatch.setattr(video, "to_bytes", lambda fmt, data, shots, **kw: calls.append((fmt, shots)) or b"ok")
    state = records.MapState(date=data.scenes["date"].max())
    assert exports.export("mp4", data, state) == b"ok"
    assert {"mp4", "gif"} <= set(exports.FORMATS)
    assert [s.heading.split()[0] for s in calls[0][1]] == list(data.scenes["id"])


def test_a_scene_s_slide_lists_only_what_its_frame_draws(data):
    """S5 is framed on Kyiv, Kharkiv and Zaporizhzhia: the Kursk front areas and the Tikhoretsk
    drone strike lie outside its frame, so its legend names neither."""
    shot = video.scene_shots(data, "S5")[0]
    fig, _ = export.slide_figure(data, shot.state, None, 1280, 720, 80, heading=shot.heading, caption=shot.caption)
    rows = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "missile strike" in rows and "place" in rows
    assert "front area (approx.)" not in rows and "missile or drone strike" not in rows
