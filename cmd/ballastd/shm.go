package main

import "github.com/ballast-risk/ballast/engine/verdict"

// shmSlotsMax bounds --shm-slots.
const shmSlotsMax = verdict.ShmSlotsMax

// startShm serves the SBE protocol over shared memory: one session file
// per slot in --shm. A slot file that cannot be created (a live server
// owns it) ends the run through serve's error channel.
func (a *appliance) startShm(serve func(name string, f func() error)) error {
	cfg := verdict.ShmConfig{Dir: a.cfg.shmDir, Slots: a.cfg.shmSlots}
	serve("shm server", func() error { return a.sbeSrv.ServeShm(cfg) })
	return nil
}
