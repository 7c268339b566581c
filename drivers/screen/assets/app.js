// Gate screen: renders the state pushed by the daemon over server-sent
// events. No framework, no build step; text goes in with textContent only.
"use strict";
(function () {
  var lang = document.body.dataset.lang || "zh-CN";
  var doctorEnabled = document.body.dataset.doctor === "true";
  var T = {};
  var state = { lanes: [], cases: [], health: { devices: [], components: [], banners: [], uplink: "unknown" } };
  var skew = 0; // server clock minus ours, ms
  var csrf = "";
  var selected = "";
  var es = null;

  var ICON = { pass: "✓", flag: "✕", retake: "↻", invalid: "⚠", ready: "–" };

  function t(key) { return Object.prototype.hasOwnProperty.call(T, key) ? T[key] : key; }
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function now() { return Date.now() + skew; }
  function temp(v) { return v === null || v === undefined ? "—" : v.toFixed(1) + " °C"; }
  function hhmm(ms) {
    var d = new Date(ms);
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2) + ":" + ("0" + d.getSeconds()).slice(-2);
  }
  function duration(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var m = Math.floor(s / 60);
    return m + ":" + ("0" + (s % 60)).slice(-2);
  }

  // A pass, retake or invalid falls back to READY after idle_ms; a flag
  // stays until its case is cleared or the next person is measured.
  function shownState(l) {
    if (l.state !== "flag" && l.state !== "ready" && l.last && now() - l.last.at > l.idle_ms) return "ready";
    return l.state;
  }

  function renderLanes() {
    var root = $("lanes");
    root.textContent = "";
    state.lanes.forEach(function (l) {
      var st = shownState(l);
      var tile = el("article", "lane s-" + st);
      tile.dataset.lane = l.name;
      tile.dataset.state = st;
      var head = el("div", "lane-head");
      head.appendChild(el("span", "lane-name", l.name));
      if (l.last && l.last.drill) head.appendChild(el("span", "drill", t("drill")));
      tile.appendChild(head);
      var big = el("div", "verdict");
      big.appendChild(el("span", "icon", ICON[st] || "?"));
      big.appendChild(el("span", "label", t("state_" + st)));
      tile.appendChild(big);
      if (st !== "ready" && l.last) tile.appendChild(el("div", "temp", temp(l.last.body_c)));
      if (st === "flag" && l.ticket) tile.appendChild(el("div", "ticket", l.ticket));
      var list = el("ol", "recent");
      list.setAttribute("aria-label", t("recent"));
      (l.recent || []).slice(0, 3).forEach(function (r) {
        var li = el("li", "v-" + r.verdict);
        li.appendChild(el("span", "", hhmm(r.at)));
        li.appendChild(el("span", "", temp(r.body_c)));
        li.appendChild(el("span", "", (ICON[r.verdict] || "") + " " + t("state_" + r.verdict)));
        if (r.person_id) li.appendChild(el("span", "person", r.person_id));
        if (r.ticket) li.appendChild(el("span", "", r.ticket));
        if (r.drill) li.appendChild(el("span", "drill", t("drill")));
        list.appendChild(li);
      });
      tile.appendChild(list);
      var tl = l.tally || {};
      tile.appendChild(el("div", "tally",
        "✓" + (tl.pass || 0) + "  ✕" + (tl.flag || 0) + "  ↻" + (tl.retake || 0) + "  ⚠" + (tl.invalid || 0) +
        (tl.drill ? "  " + t("drill") + " " + tl.drill : "")));
      root.appendChild(tile);
    });
  }

  function renderCases() {
    var body = $("cases");
    body.textContent = "";
    $("queue-empty").hidden = state.cases.length > 0;
    var stillSelected = false;
    state.cases.forEach(function (c) {
      var tr = el("tr", "case c-" + c.state);
      tr.dataset.ticket = c.ticket;
      var waited = now() - c.opened_ms;
      var overdue = c.opened_ms > 0 && c.state === "awaiting_recheck" && waited > state.overdue_ms;
      if (overdue) tr.classList.add("overdue");
      tr.appendChild(el("td", "tk", c.ticket));
      tr.appendChild(el("td", "", c.lane));
      tr.appendChild(el("td", "", temp(c.flag_c)));
      var wait = el("td", "", c.opened_ms > 0 ? duration(waited) : "");
      if (overdue) wait.appendChild(el("span", "overdue-mark", " ⏰ " + t("overdue")));
      tr.appendChild(wait);
      var st = el("td", "");
      st.appendChild(el("span", "", t("case_" + c.state)));
      if (csrf) {
        var b = el("button", "select", t("select"));
        b.type = "button";
        b.addEventListener("click", function () {
          selected = c.ticket;
          renderDoctor();
          // A re-check lane's next reading then resolves this case.
          post("/api/cases/" + encodeURIComponent(c.ticket) + "/select").then(function (j) { if (j._status === 401) failed(j); });
        });
        st.appendChild(b);
      }
      tr.appendChild(st);
      if (c.ticket === selected) { tr.classList.add("selected"); stillSelected = true; }
      body.appendChild(tr);
    });
    if (!stillSelected) selected = "";
  }

  function renderHealth() {
    var h = state.health;
    var up = $("uplink");
    up.textContent = t("uplink") + ": " + t("uplink_" + h.uplink);
    up.className = "chip " + (h.uplink === "connected" ? "up" : "degraded");
    var b = $("banners");
    b.textContent = "";
    (h.banners || []).forEach(function (x) {
      b.appendChild(el("div", "banner " + (x.level || "warning"), "⚠ " + t(x.text) + (x.arg ? " — " + x.arg : "")));
    });
    var d = $("devices");
    d.textContent = "";
    (h.devices || []).concat(h.components || []).forEach(function (c) {
      var chip = el("span", "chip " + c.state, c.name + ": " + t("dev_" + c.state) + (c.reason ? " (" + c.reason + ")" : ""));
      d.appendChild(chip);
    });
    var tot = { pass: 0, flag: 0, retake: 0, invalid: 0 };
    state.lanes.forEach(function (l) {
      ["pass", "flag", "retake", "invalid"].forEach(function (k) { tot[k] += (l.tally && l.tally[k]) || 0; });
    });
    $("tallies").textContent = t("tallies") + ": " + t("state_pass") + " " + tot.pass + " · " + t("state_flag") + " " + tot.flag +
      " · " + t("state_retake") + " " + tot.retake + " · " + t("state_invalid") + " " + tot.invalid;
  }

  function selectedCase() {
    for (var i = 0; i < state.cases.length; i++) if (state.cases[i].ticket === selected) return state.cases[i];
    return null;
  }

  function renderDoctor() {
    if (!doctorEnabled) return;
    $("login-form").hidden = !!csrf;
    $("doctor-panel").hidden = !csrf;
    var c = selectedCase();
    $("selected").textContent = c ? t("ticket") + " " + c.ticket + " · " + c.lane + " · " + temp(c.flag_c) + " · " + t("case_" + c.state) : t("select_case");
    $("recheck-form").hidden = !(c && c.state === "awaiting_recheck");
    $("refer-form").hidden = !(c && c.state === "confirmed");
    $("close-form").hidden = !(c && c.state === "referred");
    renderCasesSelection();
  }

  function renderCasesSelection() {
    var rows = $("cases").querySelectorAll("tr");
    for (var i = 0; i < rows.length; i++) rows[i].classList.toggle("selected", rows[i].dataset.ticket === selected);
  }

  function renderAll() { renderLanes(); renderCases(); renderHealth(); renderDoctor(); }

  function apply(name, data) {
    if (name === "state") {
      skew = data.now - Date.now();
      state = data;
      state.lanes = state.lanes || [];
      state.cases = state.cases || [];
      renderAll();
    } else if (name === "lane") {
      var found = false;
      for (var i = 0; i < state.lanes.length; i++) {
        if (state.lanes[i].name === data.name) { state.lanes[i] = data; found = true; }
      }
      if (!found) state.lanes.push(data);
      renderLanes(); renderHealth();
    } else if (name === "cases") {
      state.cases = data || [];
      renderCases(); renderDoctor();
    } else if (name === "health") {
      state.health = data;
      renderHealth();
    }
    document.body.dataset.updated = String(Date.now());
  }

  // EventSource reconnects by itself after an error; when the server
  // refused the stream (CLOSED) we open a new one after a pause.
  function connect() {
    es = new EventSource("/events");
    ["state", "lane", "cases", "health"].forEach(function (name) {
      es.addEventListener(name, function (ev) { apply(name, JSON.parse(ev.data)); });
    });
    es.onopen = function () { $("conn").hidden = true; };
    es.onerror = function () {
      $("conn").hidden = false;
      if (es.readyState === EventSource.CLOSED) { es.close(); setTimeout(connect, 3000); }
    };
  }

  function post(path, body) {
    return fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { j._status = r.status; return j; });
    });
  }

  function say(text) { $("doctor-msg").textContent = text; }

  function failed(j) {
    if (j._status === 401) { csrf = ""; renderCases(); renderDoctor(); }
    say(t("action_failed") + ": " + (j.error || j._status));
  }

  function caseAction(action, body) {
    if (!selected) { say(t("select_case")); return; }
    post("/api/cases/" + encodeURIComponent(selected) + "/" + action, body).then(function (j) {
      if (j._status !== 200) { failed(j); return; }
      say(t("ticket") + " " + j.ticket + ": " + t("case_" + j.state) + (j.disposition ? " · " + t("disp_" + j.disposition) : ""));
    }).catch(function () { say(t("action_failed")); });
  }

  function wireDoctor() {
    if (!doctorEnabled) return;
    $("login-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      post("/api/login", { pin: $("pin").value }).then(function (j) {
        $("pin").value = "";
        if (j._status === 200) { csrf = j.csrf; say(""); renderCases(); renderDoctor(); return; }
        say(j._status === 429 ? t("login_locked") : j._status === 401 ? t("login_wrong") : t("action_failed"));
      });
    });
    $("logout-btn").addEventListener("click", function () {
      post("/api/logout").then(function () { csrf = ""; selected = ""; renderCases(); renderDoctor(); });
    });
    $("recheck-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var v = parseFloat($("recheck-temp").value);
      if (!(v >= 30 && v <= 45)) { say(t("temp_invalid")); return; }
      $("recheck-temp").value = "";
      caseAction("recheck", { temp_c: v });
    });
    $("contact-yes").addEventListener("click", function () { caseAction("refer", { contact_history: true }); });
    $("contact-no").addEventListener("click", function () { caseAction("refer", { contact_history: false }); });
    $("close-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      caseAction("close", { outcome: $("outcome").value });
      $("outcome").value = "";
    });
    fetch("/api/session", { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (j) {
      if (j.logged_in) { csrf = j.csrf; renderCases(); renderDoctor(); }
    });
  }

  function tick() {
    $("clock").textContent = hhmm(now());
    renderLanes();
    renderCases();
    renderDoctor();
  }

  fetch("/api/i18n?lang=" + encodeURIComponent(lang)).then(function (r) { return r.json(); }).then(function (m) {
    T = m;
    wireDoctor();
    connect();
    setInterval(tick, 1000);
  });
})();
