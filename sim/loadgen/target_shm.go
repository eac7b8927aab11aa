package loadgen

import (
	"context"

	"github.com/ballast-risk/ballast/engine/verdict/client"
)

// ShmTarget is the SBE protocol over the same-host shared-memory rings
// (engine/verdict/client.DialShm): each session claims one of the server's
// slot files in Dir.
type ShmTarget struct {
	// Dir is the server's shared-memory directory (verdict.ShmConfig.Dir).
	Dir   string
	Token string
	// Options configure the client; RecvMax should be at least the
	// run's InflightMax.
	Options client.Options
}

// Name implements Target.
func (t *ShmTarget) Name() string { return "shm" }

// Open implements Target.
func (t *ShmTarget) Open(ctx context.Context) (Session, error) {
	c, err := client.DialShm(ctx, t.Dir, t.Token, t.Options)
	if err != nil {
		return nil, err
	}
	return newSBESession(c), nil
}
