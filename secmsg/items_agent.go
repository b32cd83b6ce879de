package secmsg

// Values of Diagnostic.Severity.
const (
	DiagnosticError       = "Error"
	DiagnosticWarning     = "Warning"
	DiagnosticInformation = "Information"
)

// Values of ConfigurationError.ErrorType.
const (
	ConfigOutOfBounds  = "OutOfBounds"  // a value outside its range; the agent used another
	ConfigTypeMismatch = "TypeMismatch" // a value of the wrong type
	ConfigConflict     = "Conflict"     // values that contradict each other
	ConfigUnknown      = "Unknown"      // a setting the agent does not know
	ConfigOther        = "Other"
)

// Values of DroppedEvents.Queue: the agent keeps security events in the
// high-priority queue and the rest in the low one.
const (
	QueueHigh = "High"
	QueueLow  = "Low"
)

// Diagnostic is a message about the agent itself (Diagnostic event).
type Diagnostic struct {
	Severity  string `json:"Severity"`            // required: DiagnosticError…
	Component string `json:"Component,omitempty"` // the part of the agent, e.g. "collector/auth"
	Message   string `json:"Message"`             // required
	ProcessID int    `json:"ProcessId,omitempty"` // the agent's process
	Aggregate
}

// ConfigurationError reports a configuration setting the agent could not
// use as given (ConfigurationError event).
type ConfigurationError struct {
	ConfigurationName string `json:"ConfigurationName"`           // required: the setting, e.g. "snapshot.interval"
	ErrorType         string `json:"ErrorType"`                   // required: ConfigOutOfBounds…
	UsedConfiguration string `json:"UsedConfiguration,omitempty"` // the value used instead
	Message           string `json:"Message,omitempty"`
	Aggregate
}

// AnyEvent is the EventName of a DroppedEvents item that counts events of
// any name: records the agent's spool dropped whole, without reading
// which events they held.
const AnyEvent = "*"

// DroppedEvents counts the events of one name that the agent dropped
// (DroppedEventsStatistics event) since its previous report of that event
// or its start. Only non-zero counts are reported.
type DroppedEvents struct {
	Event         string `json:"EventName"`        // required: the name of the dropped events
	Queue         string `json:"Queue"`            // required: QueueHigh or QueueLow
	DroppedEvents int64  `json:"DroppedEvents"`    // always written, ≥ 0
	Reason        string `json:"Reason,omitempty"` // e.g. "queue_full", "too_large"
	Change        string `json:"Change,omitempty"` // in a Diff snapshot: ChangeAdded…
}

// MessageStatistics counts what the agent sent (MessageStatistics event,
// one item) since its previous report of that event or its start.
type MessageStatistics struct {
	MessagesSent     int64  `json:"MessagesSent,omitempty"`     // accepted by the hub
	MessagesFailed   int64  `json:"MessagesFailed,omitempty"`   // not delivered (network, 5xx, auth), to be retried or dropped
	MessagesRejected int64  `json:"MessagesRejected,omitempty"` // refused by the hub as invalid (400), dropped
	EventsSent       int64  `json:"EventsSent,omitempty"`
	BytesSent        int64  `json:"BytesSent,omitempty"`
	Change           string `json:"Change,omitempty"` // in a Diff snapshot: ChangeAdded…
}

// EventName implements Item.
func (Diagnostic) EventName() string { return NameDiagnostic }

// EventName implements Item.
func (ConfigurationError) EventName() string { return NameConfigurationError }

// EventName implements Item.
func (DroppedEvents) EventName() string { return NameDroppedEventsStatistics }

// EventName implements Item.
func (MessageStatistics) EventName() string { return NameMessageStatistics }

// Key implements Item: every field but the aggregation fields.
func (d Diagnostic) Key() string { return key(d.Severity, d.Component, d.Message, itoa(d.ProcessID)) }

// Key implements Item: every field but the aggregation fields.
func (e ConfigurationError) Key() string {
	return key(e.ConfigurationName, e.ErrorType, e.UsedConfiguration, e.Message)
}

// Key implements Item: EventName|Queue|Reason.
func (d DroppedEvents) Key() string { return key(d.Event, d.Queue, d.Reason) }

// Key implements Item: a constant, the agent has one set of counters.
func (MessageStatistics) Key() string { return NameMessageStatistics }

func (d Diagnostic) check(c *checker) {
	c.enum("Severity", d.Severity, true, DiagnosticError, DiagnosticWarning, DiagnosticInformation)
	c.str("Component", d.Component, false)
	c.str("Message", d.Message, true)
	c.pid("ProcessId", d.ProcessID, false)
	c.aggregate(d.Aggregate)
}

func (e ConfigurationError) check(c *checker) {
	c.str("ConfigurationName", e.ConfigurationName, true)
	c.enum("ErrorType", e.ErrorType, true, ConfigOutOfBounds, ConfigTypeMismatch, ConfigConflict, ConfigUnknown, ConfigOther)
	c.str("UsedConfiguration", e.UsedConfiguration, false)
	c.str("Message", e.Message, false)
	c.aggregate(e.Aggregate)
}

func (d DroppedEvents) check(c *checker) {
	if c.str("EventName", d.Event, true) {
		if _, ok := specOf(d.Event); !ok && d.Event != AnyEvent {
			c.fail("EventName", ReasonUnknownEvent, "no event is named %s", quote(d.Event))
		}
	}
	c.enum("Queue", d.Queue, true, QueueHigh, QueueLow)
	c.count("DroppedEvents", d.DroppedEvents)
	c.str("Reason", d.Reason, false)
	c.change(d.Change)
}

func (s MessageStatistics) check(c *checker) {
	c.count("MessagesSent", s.MessagesSent)
	c.count("MessagesFailed", s.MessagesFailed)
	c.count("MessagesRejected", s.MessagesRejected)
	c.count("EventsSent", s.EventsSent)
	c.count("BytesSent", s.BytesSent)
	c.change(s.Change)
}
