// Gate screen: renders the state pushed by the daemon over server-sent
// events. No framework, no build step; text goes in with textContent only.
"use strict";
(function () {
  var lang = document.body.dataset.lang || "zh-CN";
  var doctorEnabled = document.body.dataset.doctor === "true";
  var absencesEnabled = document.body.dataset.absences === "true";
  var T = {};
  var state = { lanes: [], cases: [], health: { devices: [], components: [], banners: [], uplink: "unknown" }, school: null };
  var skew = 0; // server clock minus ours, ms
  var tzOffset = 0; // the school's UTC offset, ms (site.timezone)
  // live is true while the stream is heard from within STALE_MS (the server
  // sends at least a heartbeat every 0.75 s). Otherwise every tile says
  // screening stopped: a dead box must never leave a green tile up.
  var live = false;
  var lastHeard = 0;
  var STALE_MS = 2000;
  var csrf = "";
  var role = ""; // doctor or teacher, once logged in
  var selected = "";
  var es = null;

  var ICON = { pass: "✓", flag: "✕", retake: "↻", invalid: "⚠", ready: "–", stopped: "■", device: "⚠" };
  var SVG = "http://www.w3.org/2000/svg";

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
  // School time, whatever the tablet's own time zone.
  function hhmm(ms) {
    var d = new Date(ms + tzOffset);
    return ("0" + d.getUTCHours()).slice(-2) + ":" + ("0" + d.getUTCMinutes()).slice(-2) + ":" + ("0" + d.getUTCSeconds()).slice(-2);
  }
  // A clock icon drawn by the page itself: the box has no emoji font.
  function clockIcon() {
    var s = document.createElementNS(SVG, "svg");
    s.setAttribute("viewBox", "0 0 16 16");
    s.setAttribute("class", "icon-clock");
    s.setAttribute("aria-hidden", "true");
    var c = document.createElementNS(SVG, "circle");
    c.setAttribute("cx", "8"); c.setAttribute("cy", "8"); c.setAttribute("r", "6.5");
    var h = document.createElementNS(SVG, "path");
    h.setAttribute("d", "M8 4v4l3 2");
    s.appendChild(c); s.appendChild(h);
    return s;
  }
  function laneLabel(name) {
    for (var i = 0; i < state.lanes.length; i++) if (state.lanes[i].name === name) return state.lanes[i].label || name;
    return name;
  }
  function deviceState(name) {
    var ds = (state.health && state.health.devices) || [];
    for (var i = 0; i < ds.length; i++) if (ds[i].name === name) return ds[i].state;
    return "unknown";
  }
  function duration(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var m = Math.floor(s / 60);
    return m + ":" + ("0" + (s % 60)).slice(-2);
  }

  // Without the live stream every lane is stopped. A flag stays red while
  // the server holds it (until the re-check desk, or flag_hold_ms). A lane
  // whose device is down or degraded shows no other verdict. A pass,
  // retake or invalid falls back to READY after idle_ms.
  function shownState(l) {
    if (!live) return "stopped";
    if (l.state === "flag") {
      var f = l.flagged || l.last;
      if (l.flag_hold_ms && f && now() - f.at > l.flag_hold_ms) return deviceBad(l) ? "device" : "ready";
      return "flag";
    }
    if (deviceBad(l)) return "device";
    if (l.state !== "ready" && l.last && now() - l.last.at > l.idle_ms) return "ready";
    return l.state;
  }
  function deviceBad(l) {
    var st = l.device ? deviceState(l.device) : "unknown";
    return st === "down" || st === "degraded";
  }

  // The thermal thumbnail of a thermal array's reading, next to that reading
  // only: never beside another one (a held flag's), never once it is old.
  function thumb(th, shown) {
    if (!th || !shown || th.at !== shown.at || th.device !== shown.device) return null;
    var fig = el("figure", "thumb");
    var img = el("img");
    img.src = th.png;
    img.alt = t("thumb_alt");
    img.title = t("thumb_alt");
    fig.appendChild(img);
    var scale = el("figcaption", "thumb-scale");
    scale.appendChild(el("span", "", th.min_c.toFixed(1)));
    scale.appendChild(el("span", "thumb-bar"));
    scale.appendChild(el("span", "", th.max_c.toFixed(1) + " °C"));
    fig.appendChild(scale);
    return fig;
  }

  function renderLanes() {
    var root = $("lanes");
    root.textContent = "";
    state.lanes.forEach(function (l) {
      var st = shownState(l);
      var shown = st === "flag" ? (l.flagged || l.last) : l.last;
      var drill = st !== "ready" && st !== "stopped" && st !== "device" && !!shown && !!shown.drill;
      var tile = el("article", "lane s-" + st + (drill ? " drill-lane" : ""));
      tile.dataset.lane = l.name;
      tile.dataset.state = st;
      tile.dataset.drill = drill ? "true" : "false";
      var head = el("div", "lane-head");
      head.appendChild(el("span", "lane-name", l.label || l.name));
      if (drill) head.appendChild(el("span", "drill", t("drill")));
      tile.appendChild(head);
      var big = el("div", "verdict");
      big.appendChild(el("span", "icon", ICON[st] || "?"));
      big.appendChild(el("span", "label", t("state_" + st)));
      tile.appendChild(big);
      if (st === "stopped") {
        tile.appendChild(el("div", "why", t("stopped_why")));
        root.appendChild(tile);
        return;
      }
      if (st === "device") tile.appendChild(el("div", "why", l.device + ": " + t("dev_" + deviceState(l.device))));
      var row = el("div", "reading");
      if (st !== "ready" && st !== "device" && shown) row.appendChild(el("div", "temp", temp(shown.body_c)));
      if (st === "flag" && l.ticket) {
        var tk = el("div", "ticket", l.ticket);
        if (drill) tk.appendChild(el("span", "drill", t("drill")));
        row.appendChild(tk);
      }
      var th = st !== "ready" && st !== "device" ? thumb(l.thumb, shown) : null;
      if (th) row.appendChild(th);
      if (row.firstChild) tile.appendChild(row);
      var list = el("ol", "recent");
      list.setAttribute("aria-label", t("recent"));
      (l.recent || []).slice(0, 3).forEach(function (r) {
        var li = el("li", "v-" + r.verdict);
        li.appendChild(el("span", "", hhmm(r.at)));
        li.appendChild(el("span", "", temp(r.body_c)));
        li.appendChild(el("span", "", (ICON[r.verdict] || "") + " " + t("state_" + r.verdict)));
        if (r.ticket) li.appendChild(el("span", "", r.ticket));
        if (r.drill) li.appendChild(el("span", "drill", t("drill")));
        list.appendChild(li);
      });
      tile.appendChild(list);
      var tl = l.tally || {};
      tile.appendChild(el("div", "tally",
        t("state_pass") + " " + (tl.pass || 0) + " · " + t("state_flag") + " " + (tl.flag || 0) + " · " +
        t("state_retake") + " " + (tl.retake || 0) + " · " + t("state_invalid") + " " + (tl.invalid || 0) +
        (tl.drill ? " · " + t("drill") + " " + tl.drill : "")));
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
      tr.dataset.drill = c.drill ? "true" : "false";
      var waited = now() - c.opened_ms;
      var overdue = c.opened_ms > 0 && c.state === "awaiting_recheck" && waited > state.overdue_ms;
      if (overdue) tr.classList.add("overdue");
      var tkCell = el("td", "tk", c.ticket);
      if (c.drill) tkCell.appendChild(el("span", "drill", t("drill")));
      tr.appendChild(tkCell);
      tr.appendChild(el("td", "", laneLabel(c.lane)));
      tr.appendChild(el("td", "", temp(c.flag_c)));
      var wait = el("td", "", c.opened_ms > 0 ? duration(waited) : "");
      if (overdue) {
        var mark = el("span", "overdue-mark");
        mark.appendChild(clockIcon());
        mark.appendChild(document.createTextNode(t("overdue")));
        wait.appendChild(mark);
      }
      tr.appendChild(wait);
      var st = el("td", "");
      st.appendChild(el("span", "", t("case_" + c.state)));
      if (csrf && role === "doctor") {
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

  // Without the live stream nothing is known about the uplink or devices.
  function renderHealth() {
    var h = state.health;
    var uplink = live ? h.uplink : "unknown";
    var up = $("uplink");
    up.textContent = t("uplink") + ": " + t("uplink_" + uplink);
    up.className = "chip " + (uplink === "connected" ? "up" : "degraded");
    $("conn").hidden = live;
    var b = $("banners");
    b.textContent = "";
    (h.banners || []).forEach(function (x) {
      b.appendChild(el("div", "banner " + (x.level || "warning"), "⚠ " + t(x.text) + (x.arg ? " — " + x.arg : "")));
    });
    var d = $("devices");
    d.textContent = "";
    (h.devices || []).concat((h.components || []).map(function (c) {
      // Components are the box's parts, named in the page's language;
      // devices keep the names the configuration gives them.
      var named = Object.assign({}, c);
      if (Object.prototype.hasOwnProperty.call(T, "comp_" + c.name)) named.name = T["comp_" + c.name];
      return named;
    })).forEach(function (c) {
      var st = live ? c.state : "unknown";
      // Reasons are the daemon's English text: shown in English only.
      var why = live && c.reason && lang === "en" ? " (" + c.reason + ")" : "";
      var chip = el("span", "chip " + st, c.name + ": " + t("dev_" + st) + why);
      chip.dataset.state = st;
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
    $("selected").textContent = c ? t("ticket") + " " + c.ticket + (c.drill ? " [" + t("drill") + "]" : "") + " · " + laneLabel(c.lane) + " · " +
      temp(c.flag_c) + " · " + t("case_" + c.state) : t("select_case");
    $("recheck-form").hidden = !(c && c.state === "awaiting_recheck");
    $("refer-form").hidden = !(c && c.state === "confirmed");
    $("close-form").hidden = !(c && c.state === "referred");
    renderCasesSelection();
  }

  function renderCasesSelection() {
    var rows = $("cases").querySelectorAll("tr");
    for (var i = 0; i < rows.length; i++) rows[i].classList.toggle("selected", rows[i].dataset.ticket === selected);
  }

  function counts(c) {
    c = c || {};
    return t("daily_total") + " " + (c.total || 0) + " · " + t("state_pass") + " " + (c.pass || 0) + " · " +
      t("state_flag") + " " + (c.flag || 0) + " · " + t("state_retake") + " " + (c.retake || 0) + " · " +
      t("state_invalid") + " " + (c.invalid || 0);
  }
  function keyed(prefix, m) {
    return Object.keys(m || {}).sort().map(function (k) { return t(prefix + k) + " " + m[k]; }).join(" · ");
  }

  // A class name usually contains its grade ("初一(2)班"); say it once.
  function classLabel(c) {
    return !c.grade || c.class.indexOf(c.grade) === 0 ? c.class : c.grade + " " + c.class;
  }

  // The school's day: counts only; names come from the session's own
  // requests (refreshPrivate).
  function renderSchool() {
    var sc = state.school || {};
    var d = sc.daily;
    var box = $("daily");
    box.textContent = "";
    $("daily-day").textContent = d ? d.day : "";
    $("daily-zero").hidden = !(d && d.zero);
    if (!d) {
      box.textContent = t("daily_none");
    } else {
      box.appendChild(el("div", "", counts(d.totals)));
      var cases = keyed("case_", d.cases), disp = keyed("disp_", d.dispositions);
      if (cases) box.appendChild(el("div", "", t("daily_cases") + ": " + cases));
      if (disp) box.appendChild(el("div", "", t("daily_dispositions") + ": " + disp));
      box.appendChild(el("div", "", t("daily_absentees") + " " + (d.absentees || 0) + " · " + t("daily_visitors") + " " +
        (d.visitors || 0) + " · " + t("daily_drills") + " " + ((d.drills && d.drills.total) || 0)));
    }
    var ab = (sc.absentees && sc.absentees.classes) || [];
    var abBox = $("absentees");
    abBox.textContent = ab.length ? "" : t("absentees_none");
    ab.forEach(function (c) {
      abBox.appendChild(el("span", "absent-class", classLabel(c) + ": " + c.count));
    });
    if ($("visitor-count")) $("visitor-count").textContent = t("visitors_today") + ": " + (sc.visitors || 0);
    if ($("visitor-summary-count")) $("visitor-summary-count").textContent = "(" + (sc.visitors || 0) + ")";
  }

  // Names of visitors and absentees only reach a logged-in session.
  function refreshPrivate() {
    if (!csrf) return;
    if ($("visitors")) {
      fetch("/api/visitors", { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : []; }).then(function (vs) {
        var body = $("visitors");
        body.textContent = "";
        if (!vs.length) { var tr0 = el("tr"); tr0.appendChild(el("td", "", t("visitors_none"))); body.appendChild(tr0); }
        vs.forEach(function (v) {
          var tr = el("tr");
          [hhmm(Date.parse(v.time)), v.name, v.phone, v.purpose, v.host, temp(v.body_c)].forEach(function (x) { tr.appendChild(el("td", "", x)); });
          body.appendChild(tr);
        });
      });
    }
    fetch("/api/absentees", { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : { classes: [] }; }).then(function (a) {
      var box = $("absent-names");
      box.textContent = "";
      if (!a.classes.length) box.textContent = t("absentees_none");
      a.classes.forEach(function (c) {
        box.appendChild(el("div", "absent-row", classLabel(c) + " (" + c.names.length + "): " + c.names.join("、")));
        if (absencesEnabled && c.ids) c.ids.forEach(function (id, i) { box.appendChild(absenceForm(id, c.names[i])); });
      });
    });
  }

  // absenceForm records why one absentee is absent (因病缺勤追踪).
  function absenceForm(id, name) {
    var f = el("form", "absent-person");
    f.appendChild(el("span", "", name));
    var reason = el("select");
    ["illness", "personal_leave", "unknown"].forEach(function (r) {
      var o = el("option", "", t("absence_" + r)); o.value = r; reason.appendChild(o);
    });
    f.appendChild(reason);
    var boxes = {};
    ["fever", "cough", "other", "seen_doctor"].forEach(function (k) {
      var l = el("label", "", ""), cb = el("input");
      cb.type = "checkbox"; boxes[k] = cb;
      l.appendChild(cb); l.appendChild(document.createTextNode(t("absence_" + k)));
      f.appendChild(l);
    });
    reason.addEventListener("change", function () {
      for (var k in boxes) { boxes[k].disabled = reason.value !== "illness"; if (boxes[k].disabled) boxes[k].checked = false; }
    });
    var note = el("input"); note.type = "text"; note.maxLength = 200; note.placeholder = t("absence_note");
    f.appendChild(note);
    var b = el("button", "", t("absence_record")); b.type = "submit";
    f.appendChild(b);
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var symptoms = ["fever", "cough", "other"].filter(function (k) { return boxes[k].checked; });
      post("/api/absences", { id: id, reason: reason.value, symptoms: symptoms, seen_doctor: boxes.seen_doctor.checked, note: note.value }).then(function (j) {
        if (j._status !== 200) { failed(j); return; }
        say(name + ": " + t("absence_recorded"));
      }).catch(function () { say(t("action_failed")); });
    });
    return f;
  }

  function renderAll() { renderLanes(); renderCases(); renderHealth(); renderDoctor(); renderSchool(); }

  function heard() {
    lastHeard = Date.now();
    $("clock").textContent = hhmm(now());
    if (!live) { live = true; renderAll(); }
  }
  function lost() {
    if (!live) return;
    live = false;
    renderAll();
  }

  function apply(name, data) {
    if (name === "hb") {
      skew = data.now - Date.now();
      tzOffset = data.tz_offset_ms || 0;
      heard();
      return;
    }
    if (name === "state") {
      skew = data.now - Date.now();
      tzOffset = data.tz_offset_ms || 0;
      live = true;
      lastHeard = Date.now();
      state = data;
      state.lanes = state.lanes || [];
      state.cases = state.cases || [];
      renderAll();
      refreshPrivate();
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
      renderHealth(); renderLanes();
    } else if (name === "school") {
      state.school = data;
      renderSchool();
      refreshPrivate();
    }
    heard();
    document.body.dataset.updated = String(Date.now());
  }

  // EventSource reconnects by itself after an error; when the server
  // refused the stream (CLOSED) we open a new one after a pause.
  function connect() {
    es = new EventSource("/events");
    ["state", "lane", "cases", "health", "school", "hb"].forEach(function (name) {
      es.addEventListener(name, function (ev) { apply(name, JSON.parse(ev.data)); });
    });
    es.onerror = function () {
      lost();
      if (es.readyState === EventSource.CLOSED) { es.close(); setTimeout(connect, 3000); }
    };
  }

  // A stream that went silent (a box without power, a half-open Wi-Fi
  // connection) raises no error: the heartbeat's absence is the signal,
  // and a fresh connection the cure.
  function watchdog() {
    if (!live || Date.now() - lastHeard <= STALE_MS) return;
    lost();
    if (es) es.close();
    connect();
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

  // An error the page has no words for is the server's English text: it
  // is shown as such only on the English page.
  function errText(j) {
    if (j.error && Object.prototype.hasOwnProperty.call(T, j.error)) return T[j.error];
    return j.error && lang === "en" ? j.error : String(j._status);
  }

  function failed(j) {
    if (j._status === 401) { csrf = ""; renderCases(); renderDoctor(); }
    say(t("action_failed") + ": " + errText(j));
  }

  function caseAction(action, body) {
    if (!selected) { say(t("select_case")); return; }
    post("/api/cases/" + encodeURIComponent(selected) + "/" + action, body).then(function (j) {
      if (j._status !== 200) { failed(j); return; }
      say(t("ticket") + " " + j.ticket + ": " + t("case_" + j.state) + (j.disposition ? " · " + t("disp_" + j.disposition) : ""));
    }).catch(function () { say(t("action_failed")); });
  }

  // setRole shows a class teacher's session the absentees only.
  function setRole(r) {
    role = r || "";
    if (role) document.body.dataset.role = role; else delete document.body.dataset.role;
  }

  function wireDoctor() {
    if (!doctorEnabled) return;
    $("login-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      post("/api/login", { pin: $("pin").value }).then(function (j) {
        $("pin").value = "";
        if (j._status === 200) { csrf = j.csrf; setRole(j.role); say(""); renderCases(); renderDoctor(); refreshPrivate(); return; }
        say(j._status === 429 ? t("login_locked") : j._status === 401 ? t("login_wrong") : t("action_failed"));
      });
    });
    $("logout-btn").addEventListener("click", function () {
      post("/api/logout").then(function () { csrf = ""; selected = ""; setRole(""); renderCases(); renderDoctor(); });
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
      if (j.logged_in) { csrf = j.csrf; setRole(j.role); renderCases(); renderDoctor(); refreshPrivate(); }
    });
    wireDrill();
    wireVisitors();
    // On a 600-pixel screen an opened form must come into view.
    var boxes = document.querySelectorAll("#doctor-panel details");
    for (var i = 0; i < boxes.length; i++) {
      boxes[i].addEventListener("toggle", function (ev) { if (ev.target.open) ev.target.scrollIntoView({ block: "start" }); });
    }
  }

  function wireDrill() {
    if (!$("drill-form")) return;
    $("drill-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var v = parseFloat($("drill-temp").value);
      if (!(v >= 30 && v <= 45)) { say(t("temp_invalid")); return; }
      var lane = $("drill-lane").value;
      post("/api/drill", { lane: lane, temp_c: v }).then(function (j) {
        if (j._status !== 200) { failed(j); return; }
        say(t("drill_started") + " " + laneLabel(j.lane) + " · " + temp(j.temp_c));
      }).catch(function () { say(t("action_failed")); });
    });
  }

  function wireVisitors() {
    if (!$("visitor-form")) return;
    $("visitor-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = { name: $("visitor-name").value, phone: $("visitor-phone").value,
        purpose: $("visitor-purpose").value, host: $("visitor-host").value };
      post("/api/visitors", body).then(function (j) {
        if (j._status === 201) {
          ["visitor-name", "visitor-phone", "visitor-purpose", "visitor-host"].forEach(function (id) { $(id).value = ""; });
          say(t("visitor_registered") + ": " + j.name + " · " + laneLabel(j.lane) + " · " + temp(j.body_c));
          refreshPrivate();
          return;
        }
        if (j._status === 409) {
          say(errText(j) + (j.verdict ? " (" + laneLabel(j.lane) + " · " + temp(j.body_c) + " · " + t("state_" + j.verdict) + ")" : ""));
          return;
        }
        failed(j);
      }).catch(function () { say(t("action_failed")); });
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
    setInterval(watchdog, 250);
  });
})();
