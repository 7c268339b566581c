package office

import (
	"fmt"
	"strings"

	"github.com/gatescreen/gatescreen/event"
)

// Languages of the paperwork.
const (
	LangZH = "zh-CN"
	LangEN = "en"
)

// zh translates the stored codes; a code missing here is written as it is
// stored, so a new reason shows up rather than vanishing.
var zh = map[string]string{
	// verdicts
	event.VerdictPass: "通过", event.VerdictFlag: "体温异常", event.VerdictRetake: "需重测", event.VerdictInvalid: "读数无效",
	// reasons
	"threshold": "超过阈值", "relative": "高于同通道近期体温", "below_floor": "低于可信下限",
	"short_dwell": "停留过短", "unstable": "读数不稳", "checksum": "校验错误", "sensor_error": "传感器报错",
	"out_of_range": "超出量程", "malformed": "数据格式错误", "status": "设备状态异常", "nan": "无读数",
	"stuck": "读数卡滞", "drill": "演练", "device_alarm": "设备报警与测值不符",
	// warnings
	"ambient_low": "环境温度过低", "ambient_high": "环境温度过高", "no_ambient": "无环境温度",
	// rounds
	"morning": "晨检", "noon": "午检", "evening": "晚检",
	// roles
	"student": "学生", "staff": "教职工", "visitor": "访客", "recheck": "复检", "canteen": "食堂",
	// case states and dispositions
	event.CaseAwaitingRecheck: "待复检", event.CaseCleared: "复检正常", event.CaseConfirmed: "复检仍发热",
	event.CaseReferred: "已转介", event.CaseClosed: "已结案",
	event.DispositionCDCTransfer: "联系疾控转运", event.DispositionParentFeverClinic: "家长陪同发热门诊",
	// absences
	"illness": "因病", "personal_leave": "事假", "unknown": "原因不明", "unrecorded": "未登记",
	"fever": "发热", "cough": "咳嗽", "other": "其他症状",
	// actors
	"doctor": "校医", "system": "系统", "teacher": "班主任",
}

// Chinese is the Chinese term of a stored code (the code itself when there
// is none), for the companion commands' messages.
func Chinese(code string) string { return vocab{LangZH}.code(code) }

// vocab writes values in one language.
type vocab struct{ lang string }

func newVocab(lang string) (vocab, error) {
	switch lang {
	case LangZH, LangEN:
		return vocab{lang}, nil
	}
	return vocab{}, fmt.Errorf("language %q: want %s or %s", lang, LangZH, LangEN)
}

func (v vocab) zh() bool { return v.lang == LangZH }

// code translates a stored code ("" stays empty).
func (v vocab) code(s string) string {
	if !v.zh() || s == "" {
		return s
	}
	if t, ok := zh[s]; ok {
		return t
	}
	return s
}

// codes translates a list, joined by the language's separator.
func (v vocab) codes(list []string) string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = v.code(s)
	}
	if v.zh() {
		return strings.Join(out, "、")
	}
	return strings.Join(out, ";")
}

// yes is a yes/no cell: 是/否 in Chinese.
func (v vocab) yes(b bool) string {
	switch {
	case v.zh() && b:
		return "是"
	case v.zh():
		return "否"
	case b:
		return "true"
	}
	return "false"
}

// actor translates "doctor", "system" and "lane:<name>" (by its label).
func (v vocab) actor(a string, labels map[string]string) string {
	if lane, ok := strings.CutPrefix(a, "lane:"); ok {
		if v.zh() {
			return "通道测温（" + label(labels, lane) + "）"
		}
		return a
	}
	return v.code(a)
}

// text picks the Chinese or English wording.
func (v vocab) text(zh, en string) string {
	if v.zh() {
		return zh
	}
	return en
}

// label is what people read for a lane: its label, else its name.
func label(labels map[string]string, lane string) string {
	if l := labels[lane]; l != "" {
		return l
	}
	return lane
}
