package config_test

import (
	"path/filepath"
	"testing"

	"github.com/gatescreen/gatescreen/internal/config"
)

func TestExampleIsValid(t *testing.T) {
	cfg, err := config.Load("../../configs/gate.example.yaml")
	if err != nil {
		t.Fatalf("the documented example must validate:\n%v", err)
	}
	if cfg.Site.BoxID != "no1-middle-east" || len(cfg.Devices) != 5 || len(cfg.Lanes) != 4 {
		t.Fatalf("example decoded wrongly: %+v", cfg)
	}
}

func TestEveryShippedConfigIsValid(t *testing.T) {
	files, err := filepath.Glob("../../configs/*.yaml")
	if err != nil || len(files) < 2 {
		t.Fatalf("configs not found: %v %v", files, err)
	}
	for _, f := range files {
		if _, err := config.Load(f); err != nil {
			t.Errorf("shipped config rejected:\n%v", err)
		}
	}
}
