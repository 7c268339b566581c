package config_test

import (
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
