// The district screen: fetches /api/v1/screen every 2 s and draws its
// tables. Every word comes from the server's dictionary (#dict), so zh-CN
// mode is Chinese throughout; school, gate and device names are data.
"use strict";
(function () {
  var T = JSON.parse(document.getElementById("dict").textContent);
  var lang = document.documentElement.lang;
  var every = 2000;

  function t(key, args) {
    var s = T[key] || key;
    for (var k in args || {}) s = s.split("{" + k + "}").join(args[k]);
    return s;
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function tag(text, colour) { return el("span", "tag " + colour, text); }
  function cell(tr, content, cls) {
    var td = el("td", cls);
    if (content instanceof Node) td.appendChild(content);
    else if (Array.isArray(content)) content.forEach(function (c) { if (c) td.appendChild(c); });
    else td.textContent = content === undefined || content === null ? "" : content;
    tr.appendChild(td);
    return td;
  }
  function fill(section, rows) {
    var sec = document.getElementById(section);
    if (!sec) return; // a panel this role does not see
    var body = sec.querySelector("tbody");
    body.replaceChildren.apply(body, rows);
    var empty = sec.querySelector(".empty");
    if (empty) empty.hidden = rows.length > 0;
  }
  function temp(c) { return c === undefined || c === null ? "" : c.toFixed(2) + " °C"; }

  function reports(s) {
    document.getElementById("report-day").textContent = s.report_day;
    document.getElementById("deadline").textContent = s.deadline;
    document.getElementById("no-school-day").hidden = s.school_day;
    fill("reports", s.schools.map(function (x) {
      var tr = el("tr");
      tr.dataset.school = x.school;
      var state = [];
      if (x.missing) { tr.classList.add("missing"); state.push(tag(t("missing"), "red")); }
      if (x.late) { tr.classList.add("late"); state.push(tag(t("late"), "red")); }
      if (!x.missing && !x.late) {
        state.push(x.due_gates > 0 ? tag(t("on_time"), "green") : tag(t("no_gates_owed"), "grey"));
      }
      cell(tr, x.school);
      cell(tr, x.due_reported + " / " + x.due_gates, "n");
      cell(tr, x.received_at || "");
      cell(tr, state, "state");
      return tr;
    }));
  }

  function schools(s) {
    fill("schools", s.schools.map(function (x) {
      var tr = el("tr");
      tr.dataset.school = x.school;
      var c = x.today;
      cell(tr, x.school);
      cell(tr, c.Total, "n screened");
      cell(tr, c.Flag, "n flags");
      cell(tr, c.Retake, "n retakes");
      cell(tr, c.Invalid, "n invalid");
      cell(tr, c.Total > 0 ? (100 * c.Flag / c.Total).toFixed(2) + "%" : "", "n");
      cell(tr, x.reported + " / " + x.gates, "n");
      var chart = cell(tr, "", "chart-cell");
      chart.innerHTML = x.chart || ""; // SVG drawn by the server from numbers only
      return tr;
    }));
  }

  function cases(s) {
    fill("cases", s.cases.map(function (c) {
      var tr = el("tr", "c-" + c.state + (c.disposition ? " d-" + c.disposition : ""));
      tr.dataset.ticket = c.ticket;
      cell(tr, c.ticket);
      cell(tr, c.school);
      cell(tr, c.gate);
      cell(tr, tag(t("state_" + c.state), c.state === "confirmed" || c.state === "awaiting_recheck" ? "red" : "amber"));
      cell(tr, c.disposition ? tag(t("disp_" + c.disposition), c.disposition === "cdc_transfer" ? "red" : "amber") : "");
      cell(tr, temp(c.flag_c), "n");
      cell(tr, temp(c.recheck_c), "n");
      cell(tr, c.at);
      return tr;
    }));
  }

  // clockOff says how far a gate's clock is off, in days from two on.
  function clockOff(min) {
    var key = min < 0 ? "clock_off_behind" : "clock_off_ahead", h = Math.abs(min) / 60;
    if (h >= 48) return t(key, { n: Math.round(h / 24), u: t("unit_days") });
    return t(key, { n: Math.round(h), u: t("unit_hours") });
  }

  function gates(s) {
    if (!s.gates) return;
    fill("gates", s.gates.map(function (g) {
      var tr = el("tr", g.state);
      tr.dataset.box = g.box;
      var colour = g.state === "online" ? "green" : g.state === "offline" ? "red" : "grey";
      var state = [tag(t(g.state), colour)];
      if (g.reason === "connection_lost") state.push(el("span", "reason", t("will")));
      if (g.reason === "shutdown") state.push(el("span", "reason", t("shutdown")));
      var warn = [];
      if (g.backlog_min) warn.push(tag(t("backlog", { n: g.backlog_min }), "amber"));
      if (g.clock === "unsynced") warn.push(tag(t("clock_unsynced"), "amber"));
      if (g.clock === "ahead") warn.push(tag(t("clock_ahead"), "amber"));
      if (g.clock === "off") warn.push(tag(clockOff(g.clock_off_min || 0), "red"));
      if (g.unsynced) warn.push(el("span", "reason", t("unsynced_today", { n: g.unsynced })));
      cell(tr, g.school);
      cell(tr, g.gate);
      cell(tr, state, "state");
      cell(tr, g.since);
      cell(tr, g.last_kind ? t("kind_" + g.last_kind) + " " + g.last_at : "");
      cell(tr, warn, "warn");
      return tr;
    }));
  }

  function warnings(s) {
    if (!s.warnings) return;
    fill("warnings", s.warnings.map(function (w) {
      var tr = el("tr");
      var what;
      if (w.kind === "calibration") {
        what = [tag(t("kind_calibration"), "amber"), el("span", "reason", t("cal_record", { o: (w.offset_c || 0).toFixed(2), s: (w.spread_c || 0).toFixed(2) }))];
      } else {
        what = [tag(t("comp_" + w.component) + " " + t("hstate_" + w.state), w.state === "down" ? "red" : "amber")];
        if (w.reason) {
          var r = el("span", "reason data", lang === "en" ? w.reason : "");
          r.title = w.reason; // the box's own words, in English: shown on hover in zh-CN
          what.push(r);
        }
      }
      cell(tr, w.school);
      cell(tr, w.gate);
      cell(tr, w.device || "");
      cell(tr, what);
      cell(tr, w.at);
      return tr;
    }));
  }

  function alerts(s) {
    fill("alerts", s.alerts.map(function (a) {
      var tr = el("tr", "a-" + a.kind);
      var red = a.kind === "case_confirmed" || a.kind === "case_cdc_transfer" || a.kind === "daily_missing";
      cell(tr, a.at);
      cell(tr, tag(t("alert_" + a.kind), red ? "red" : "amber"));
      cell(tr, a.school);
      cell(tr, a.gate);
      cell(tr, a.ticket || a.day || "");
      return tr;
    }));
  }

  function draw(s) {
    reports(s); schools(s); cases(s); gates(s); warnings(s); alerts(s);
    document.getElementById("updated").textContent = t("updated") + " " + s.now;
    document.body.dataset.loaded = "1";
  }

  function poll() {
    fetch("/api/v1/screen?lang=" + encodeURIComponent(lang), { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (r.status === 401) { location.href = "/login"; throw new Error("logged out"); }
        if (!r.ok) throw new Error(r.status);
        return r.json();
      })
      .then(function (s) { document.getElementById("load-error").hidden = true; draw(s); })
      .catch(function () { document.getElementById("load-error").hidden = false; })
      .then(function () { setTimeout(poll, every); });
  }
  poll();
})();
