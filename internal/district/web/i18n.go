package web

import (
	"net/http"
	"strings"
	"time"
)

// The screen's languages: zh-CN first, English on request.
const (
	langZH = "zh-CN"
	langEN = "en"
)

// texts are every string a person sees, in both languages; the page and
// its script take them from here. In zh-CN every one is Chinese.
var texts = map[string][2]string{ // key: {zh-CN, en}
	"title":                    {"区县晨午检体温筛查", "District temperature screening"},
	"lang_toggle":              {"英文 English", "中文 Chinese"},
	"logout":                   {"退出登录", "Log out"},
	"role_bureau":              {"教育局", "Education bureau"},
	"role_cdc":                 {"疾控联络员", "CDC liaison"},
	"login_title":              {"登录", "Log in"},
	"name":                     {"用户名", "Name"},
	"password":                 {"密码", "Password"},
	"login_button":             {"登录", "Log in"},
	"login_wrong":              {"用户名或密码错误", "Wrong name or password"},
	"login_limited":            {"失败次数过多，请稍后再试", "Too many failed attempts; try again later"},
	"login_expired":            {"页面已过期，请重试", "The page expired; please try again"},
	"updated":                  {"更新于", "Updated"},
	"loading":                  {"加载中…", "Loading…"},
	"load_failed":              {"数据加载失败，稍后重试", "Could not load; retrying"},
	"p_schools":                {"各校今日筛查", "Today by school"},
	"col_school":               {"学校", "School"},
	"col_screened":             {"筛查人次", "Screened"},
	"col_flags":                {"发热", "Flags"},
	"col_retakes":              {"复测", "Retakes"},
	"col_invalid":              {"无效", "Invalid"},
	"col_rate":                 {"发热率", "Fever rate"},
	"col_today_reports":        {"今日日报", "Today's reports"},
	"col_chart":                {"近14天发热率", "Fever rate, 14 days"},
	"p_reports":                {"日报与零报告", "Daily and zero reports"},
	"report_day":               {"报告日", "Report day"},
	"deadline":                 {"截止时间", "Deadline"},
	"col_reported":             {"已报门岗", "Gates reported"},
	"col_received_at":          {"收到时间", "Received at"},
	"col_report_state":         {"状态", "State"},
	"late":                     {"迟报", "Late"},
	"missing":                  {"漏报", "Missing"},
	"on_time":                  {"按时", "On time"},
	"not_school_day":           {"非上课日，无需日报", "Not a school day: no report owed"},
	"no_gates_owed":            {"无应报门岗", "No gate owed one"},
	"p_gates":                  {"门岗状态", "Gates"},
	"col_gate":                 {"门岗", "Gate"},
	"col_state":                {"状态", "State"},
	"col_since":                {"起始", "Since"},
	"col_last":                 {"最近事件", "Last event"},
	"col_warnings":             {"提示", "Warnings"},
	"online":                   {"在线", "Online"},
	"offline":                  {"离线", "Offline"},
	"unknown":                  {"未知", "Unknown"},
	"will":                     {"连接中断（遗嘱消息）", "connection lost (last will)"},
	"shutdown":                 {"正常关机", "shut down"},
	"backlog":                  {"上传积压，滞后{n}分钟", "uploading a backlog, {n} min behind"},
	"clock_unsynced":           {"时钟未同步", "clock not synchronised"},
	"clock_ahead":              {"时钟超前", "clock ahead"},
	"clock_off_behind":         {"时钟偏差：落后约{n}{u}", "clock off: about {n} {u} behind"},
	"clock_off_ahead":          {"时钟偏差：超前约{n}{u}", "clock off: about {n} {u} ahead"},
	"unit_days":                {"天", "days"},
	"unit_hours":               {"小时", "hours"},
	"unsynced_today":           {"今日{n}条事件时钟未同步", "{n} events today from an unsynchronised clock"},
	"kind_reading":             {"测温", "reading"},
	"kind_gap":                 {"数据缺口", "gap"},
	"kind_case":                {"病例", "case"},
	"kind_health":              {"设备状态", "health"},
	"kind_calibration":         {"校准", "calibration"},
	"kind_daily":               {"日报", "daily report"},
	"p_cases":                  {"复测病例", "Re-check cases"},
	"col_ticket":               {"编号", "Ticket"},
	"col_lane":                 {"通道", "Lane"},
	"col_disposition":          {"处置", "Disposition"},
	"col_flag_c":               {"初测", "First"},
	"col_recheck_c":            {"复测", "Re-check"},
	"col_at":                   {"时间", "At"},
	"state_awaiting_recheck":   {"待复测", "awaiting re-check"},
	"state_confirmed":          {"复测确认发热", "fever confirmed"},
	"state_referred":           {"已转介", "referred"},
	"state_cleared":            {"已排除", "cleared"},
	"state_closed":             {"已结案", "closed"},
	"disp_cdc_transfer":        {"转疾控", "to the CDC"},
	"disp_parent_fever_clinic": {"家长带往发热门诊", "parent to a fever clinic"},
	"none":                     {"无", "None"},
	"p_warnings":               {"设备与校准告警", "Device and calibration warnings"},
	"col_device":               {"设备", "Device"},
	"col_what":                 {"情况", "What"},
	"comp_device":              {"设备", "device"},
	"comp_storage":             {"存储", "storage"},
	"comp_clock":               {"时钟", "clock"},
	"comp_pipeline":            {"处理流程", "pipeline"},
	"comp_uplink":              {"上传", "uplink"},
	"comp_calibration":         {"校准", "calibration"},
	"hstate_down":              {"故障", "down"},
	"hstate_degraded":          {"降级", "degraded"},
	"hstate_warning":           {"警告", "warning"},
	"cal_record":               {"校准偏移{o}°C，离散{s}°C", "calibration offset {o} °C, spread {s} °C"},
	"p_alerts":                 {"近24小时告警", "Alerts, last 24 h"},
	"col_kind":                 {"类型", "Kind"},
	"alert_case_confirmed":     {"复测确认发热", "fever confirmed"},
	"alert_case_cdc_transfer":  {"转疾控", "referred to the CDC"},
	"alert_daily_missing":      {"日报未报", "daily report missing"},
	"alert_box_offline":        {"门岗离线", "gate offline"},
	"alert_event_conflict":     {"数据冲突", "conflicting data"},
	"alert_box_clock":          {"门岗时钟偏差", "gate clock off"},
	"chart_label":              {"近14天发热率", "fever rate, 14 days"},
	"chart_max":                {"最高", "max"},
	"chart_none":               {"无数据", "no data"},
	"today":                    {"今天", "today"},
}

// text is key's string in lang.
func text(lang, key string) string {
	t, ok := texts[key]
	if !ok {
		return key
	}
	if lang == langEN {
		return t[1]
	}
	return t[0]
}

// dict is every string of lang, for the page's script.
func dict(lang string) map[string]string {
	d := make(map[string]string, len(texts))
	for k := range texts {
		d[k] = text(lang, k)
	}
	return d
}

const langCookie = "gs_lang"

// pickLang is the language asked for: ?lang= (remembered in a cookie),
// else the cookie, else the first of Accept-Language's that the screen
// speaks, else zh-CN.
func pickLang(w http.ResponseWriter, r *http.Request) string {
	switch l := r.URL.Query().Get("lang"); l {
	case langZH, langEN:
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: int(365 * 24 * time.Hour / time.Second),
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == langZH || c.Value == langEN) {
		return c.Value
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(tag)
		switch {
		case tag == "zh" || strings.HasPrefix(tag, "zh-"):
			return langZH
		case tag == "en" || strings.HasPrefix(tag, "en-"):
			return langEN
		}
	}
	return langZH
}
