package moldudp64

import "testing"

func TestNopEventsAndGap(t *testing.T) {
	var ev Events = NopEvents{}
	g := Gap{Session: testSession, First: 5, Last: 9}
	ev.GapOpened(g)
	ev.GapRecovered(g)
	ev.GapLost(g)
	ev.SessionEnded(testSession, 10)
	if g.Messages() != 5 || g.String() != "SESS01[5..9]" {
		t.Fatalf("gap %v has %d messages", g, g.Messages())
	}
}
