package secmsg

import (
	"reflect"
	"testing"
)

func TestAccessors(t *testing.T) {
	a := Aggregate{HitCount: 3, FirstSeen: "2026-11-26T10:00:00Z", LastSeen: "2026-11-26T10:00:05Z"}
	for _, it := range []Item{Login{}, ProcessCreate{}, ProcessTerminate{}, ConnectionCreate{}, Diagnostic{}, ConfigurationError{}} {
		got, ok := AggregateOf(WithAggregate(it, a))
		if !ok || got != a {
			t.Errorf("%T: aggregate %+v, %v", it, got, ok)
		}
		if !reflect.DeepEqual(WithChange(it, ChangeAdded), it) {
			t.Errorf("%T: WithChange changed a triggered item", it)
		}
	}
	for _, it := range []Item{ListeningPort{}, FirewallRule{}, LocalUser{}, BaselineCheck{}, SystemInformation{}, DroppedEvents{}, MessageStatistics{}} {
		if _, ok := AggregateOf(it); ok {
			t.Errorf("%T has aggregation fields", it)
		}
		if !reflect.DeepEqual(WithAggregate(it, a), it) {
			t.Errorf("%T: WithAggregate changed a periodic item", it)
		}
		if reflect.DeepEqual(WithChange(it, ChangeRemoved), it) {
			t.Errorf("%T: WithChange did nothing", it)
		}
	}
}
