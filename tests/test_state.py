

def test_a_remembered_window_size_is_read_back_and_a_tampered_one_ignored():
    from geo.page.state import parse_viewport, viewport_cookie
    assert parse_viewport("%7B%22width%22%3A1440%2C%22height%22%3A900%2C%22map_width%22%3A760%7D") == \
        {"width": 1440, "height": 900, "map_width": 760}
    for raw in (None, "", "{", "[]", '{"width": 1440, "height": 900}', '{"width": 1e9, "height": 900, "map_width": 700}',
                '{"width": 800, "height": 600, "map_width": 900}', '{"width": true, "height": 900, "map_width": 700}',
                "x" * 500):
        assert parse_viewport(raw) is None, raw
    assert viewport_cookie(True) != viewport_cookie(False), "the presenter's map is another size"
