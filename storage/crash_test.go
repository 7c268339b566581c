package storage

const crashChildEnv = "GATESCREEN_STORAGE_CRASH_CHILD"

func crashChild(path string) {}
