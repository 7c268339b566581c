// Package web is the district screen: the page the education bureau and its
// CDC liaison watch, served by `gatescreen-district serve`. It reads the
// district's database through the store's read API, renders in zh-CN first
// (English on request), and keeps its accounts' sessions in memory.
//
// Everything it serves is embedded (assets/): plain HTML, CSS and a small
// script, no framework and nothing from a CDN. The 14-day fever-rate chart
// is inline SVG drawn here.
package web
