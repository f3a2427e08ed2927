// The dashboard's keyboard, Play clock, window size and tooltip placement, kept in the page.
//
// Why here and not in Python: Streamlit merges reruns that arrive while one is running, so
// six quick presses of a shortcut button counted as four. Here each press moves a target
// step that lives in the page, and the server is sent the absolute target: merged requests
// lose nothing. Play ticks here too, one step per interval and only once the server has
// drawn the last one, so it never outruns the map or reruns the page on a timer.
//
// Clicks on the map are counted here, and every Esc and step says how many it came after: Streamlit
// runs the callbacks of requests it merged in a fixed order (this component's before the map's),
// so without the count a quick click, Esc, → would reopen the clicked feature's panel after the
// Esc and the step had closed it (geo.page.session.Navigator.pick).
//
// data (from the server): {index, count, ack, playing, interval, cookie, viewport}. ack is the sequence
// number of the last request the server applied; until it catches up with ours, our own
// target stands (otherwise a slow rerun would pull the target back).
export default function (component) {
  const { data, setStateValue, setTriggerValue } = component;
  // size starts as the one the server already framed the map for (from the cookie): reporting
  // it again would only rerun the page while its first map is being drawn.
  const known = data.viewport || {};
  const me = (window.__pipelineControls ??= { target: null, sent: 0, timer: null, clicks: 0, down: null,
    size: known.map_width ? JSON.stringify({ width: known.width, height: known.height, map_width: known.map_width }) : "" });
  if (me.target === null || data.ack >= me.sent) me.target = data.index;

  const request = (index) => {
    index = Math.max(0, Math.min(data.count - 1, index));
    if (index === me.target) return;
    me.target = index;
    me.sent += 1;
    setStateValue("step", { index, seq: me.sent, clicks: me.clicks });
  };

  // Keys belong to a widget that has focus (the slider, a text box, a list); otherwise to the map.
  const busy = (el) =>
    el && el.closest && el.closest('input, textarea, select, [contenteditable="true"], [role="slider"], ' +
      '[role="combobox"], [role="listbox"], [role="option"], [role="dialog"]');
  const onKey = (e) => {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || busy(e.target)) return;
    if (e.key === "ArrowRight") { e.preventDefault(); request(me.target + 1); }
    else if (e.key === "ArrowLeft") { e.preventDefault(); request(me.target - 1); }
    else if (e.key === "Escape") setTriggerValue("escape", { at: Date.now(), clicks: me.clicks });
  };
  document.addEventListener("keydown", onKey);

  // A press and release on the main map that moved at most a few pixels may be a pick: counted,
  // and sent before the map's own handlers see the release (capture phase). Counting a press deck.gl
  // does not take for a click costs nothing; a pan further than that is not sent, so it reruns nothing.
  const onMap = (e) => e.target && e.target.closest && e.target.closest(".st-key-map_box");
  const onDown = (e) => { me.down = onMap(e) ? [e.clientX, e.clientY] : null; };
  const onUp = (e) => {
    if (!me.down || !onMap(e)) return;
    const moved = Math.hypot(e.clientX - me.down[0], e.clientY - me.down[1]);
    me.down = null;
    if (moved <= 12) { me.clicks += 1; setStateValue("clicks", me.clicks); }
  };
  document.addEventListener("pointerdown", onDown, true);
  document.addEventListener("pointerup", onUp, true);

  clearTimeout(me.timer);
  const tick = () => {
    if (!window.__pipelineControls.playing) return;
    if (data.ack >= me.sent && me.target < data.count - 1) request(me.target + 1);
    me.timer = setTimeout(tick, data.interval);
  };
  me.playing = !!data.playing;
  if (data.playing) me.timer = setTimeout(tick, data.interval);

  // The map's size, so the server can frame each view for the window it is shown in. The
  // chart mounts seconds after this component (its code loads lazily): watch for it.
  const report = () => {
    // The main map (the sidebar may hold a small preview map too).
    const chart = document.querySelector('.st-key-map_box [data-testid="stDeckGlJsonChart"]');
    if (!chart) return false;
    const size = { width: window.innerWidth, height: window.innerHeight,
                   map_width: Math.round(chart.getBoundingClientRect().width) };
    const key = JSON.stringify(size);
    if (size.map_width > 0 && key !== me.size) {
      me.size = key;
      setStateValue("viewport", size);
      // Remembered for the next visit: its first run can frame the map for this window at once,
      // instead of drawing a default frame first and refitting (a second first-frame's work).
      document.cookie = `${data.cookie}=${encodeURIComponent(key)}; path=/; max-age=31536000; SameSite=Strict`;
    }
    return size.map_width > 0;
  };
  let resizeTimer = null;
  const onResize = () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(report, 250); };
  window.addEventListener("resize", onResize);
  const waitForChart = setInterval(() => { if (report()) clearInterval(waitForChart); }, 300);

  // deck.gl puts its tooltip right of and below the cursor (by a transform it rewrites on each
  // move), where the map's edge cuts it off: the separate CSS `translate` pulls it back inside.
  const keepTooltipInside = () => {
    const tip = document.querySelector(".deck-tooltip");
    const chart = tip && tip.closest('[data-testid="stDeckGlJsonChart"]');
    if (!tip || !chart || tip.style.display === "none") return;
    const [px, py] = (tip.dataset.shift || "0,0").split(",").map(Number);
    const box = chart.getBoundingClientRect(), own = tip.getBoundingClientRect();
    const dx = Math.round(Math.min(0, box.right - 6 - (own.right - px)));
    const dy = Math.round(Math.min(0, box.bottom - 6 - (own.bottom - py)));
    if (dx !== px || dy !== py) {
      tip.dataset.shift = `${dx},${dy}`;
      tip.style.translate = `${dx}px ${dy}px`;
    }
  };
  const observer = new MutationObserver(keepTooltipInside);
  observer.observe(document.body, { subtree: true, attributes: true, attributeFilter: ["style"], childList: true });

  return () => {
    document.removeEventListener("keydown", onKey);
    document.removeEventListener("pointerdown", onDown, true);
    document.removeEventListener("pointerup", onUp, true);
    window.removeEventListener("resize", onResize);
    clearInterval(waitForChart);
    clearTimeout(resizeTimer);
    observer.disconnect();
  };
}
