package secmsg

// AggregateOf returns a triggered item's aggregation fields; ok is false
// for an item that has none (a periodic item).
func AggregateOf(it Item) (a Aggregate, ok bool) {
	switch v := it.(type) {
	case Login:
		return v.Aggregate, true
	case ProcessCreate:
		return v.Aggregate, true
	case ProcessTerminate:
		return v.Aggregate, true
	case ConnectionCreate:
		return v.Aggregate, true
	case Diagnostic:
		return v.Aggregate, true
	case ConfigurationError:
		return v.Aggregate, true
	}
	return Aggregate{}, false
}

// WithAggregate returns a triggered item with its aggregation fields set
// to a (a periodic item is returned unchanged).
func WithAggregate(it Item, a Aggregate) Item {
	switch v := it.(type) {
	case Login:
		v.Aggregate = a
		return v
	case ProcessCreate:
		v.Aggregate = a
		return v
	case ProcessTerminate:
		v.Aggregate = a
		return v
	case ConnectionCreate:
		v.Aggregate = a
		return v
	case Diagnostic:
		v.Aggregate = a
		return v
	case ConfigurationError:
		v.Aggregate = a
		return v
	}
	return it
}

// WithChange returns a periodic item marked with a Diff change (ChangeAdded,
// ChangeRemoved, ChangeChanged); a triggered item is returned unchanged.
func WithChange(it Item, change string) Item {
	switch v := it.(type) {
	case ListeningPort:
		v.Change = change
		return v
	case FirewallRule:
		v.Change = change
		return v
	case LocalUser:
		v.Change = change
		return v
	case BaselineCheck:
		v.Change = change
		return v
	case SystemInformation:
		v.Change = change
		return v
	case DroppedEvents:
		v.Change = change
		return v
	case MessageStatistics:
		v.Change = change
		return v
	}
	return it
}
