package secmsg

import "encoding/json"

// Event names (Event.Name). Each name fixes the event's EventType, its
// Category and the Go type of its payload items (see Item).
const (
	NameProcessCreate           = "ProcessCreate"           // Security, Triggered: ProcessCreate
	NameProcessTerminate        = "ProcessTerminate"        // Security, Triggered: ProcessTerminate
	NameLogin                   = "Login"                   // Security, Triggered: Login
	NameConnectionCreate        = "ConnectionCreate"        // Security, Triggered: ConnectionCreate
	NameListeningPorts          = "ListeningPorts"          // Security, Periodic: ListeningPort
	NameFirewallConfiguration   = "FirewallConfiguration"   // Security, Periodic: FirewallRule
	NameLocalUsers              = "LocalUsers"              // Security, Periodic: LocalUser
	NameOSBaseline              = "OSBaseline"              // Security, Periodic: BaselineCheck
	NameSystemInformation       = "SystemInformation"       // Security, Periodic: SystemInformation
	NameDiagnostic              = "Diagnostic"              // Diagnostic, Triggered: Diagnostic
	NameConfigurationError      = "ConfigurationError"      // Operational, Triggered: ConfigurationError
	NameDroppedEventsStatistics = "DroppedEventsStatistics" // Operational, Periodic: DroppedEvents
	NameMessageStatistics       = "MessageStatistics"       // Operational, Periodic: MessageStatistics
)

// Names returns every event name, in the order of the constants.
func Names() []string {
	return []string{
		NameProcessCreate, NameProcessTerminate, NameLogin, NameConnectionCreate,
		NameListeningPorts, NameFirewallConfiguration, NameLocalUsers, NameOSBaseline,
		NameSystemInformation, NameDiagnostic, NameConfigurationError,
		NameDroppedEventsStatistics, NameMessageStatistics,
	}
}

// Classify returns the EventType and Category of the events named name,
// and false if the name is unknown.
func Classify(name string) (eventType, category string, ok bool) {
	s, ok := specOf(name)
	return s.typ, s.cat, ok
}

// spec describes one event name: its type, category and payload decoder.
type spec struct {
	typ, cat string
	decode   func(raws []json.RawMessage, ev int) ([]Item, *ValidationError)
}

func specOf(name string) (spec, bool) {
	switch name {
	case NameProcessCreate:
		return spec{TypeSecurity, CategoryTriggered, decodeItems[ProcessCreate]}, true
	case NameProcessTerminate:
		return spec{TypeSecurity, CategoryTriggered, decodeItems[ProcessTerminate]}, true
	case NameLogin:
		return spec{TypeSecurity, CategoryTriggered, decodeItems[Login]}, true
	case NameConnectionCreate:
		return spec{TypeSecurity, CategoryTriggered, decodeItems[ConnectionCreate]}, true
	case NameListeningPorts:
		return spec{TypeSecurity, CategoryPeriodic, decodeItems[ListeningPort]}, true
	case NameFirewallConfiguration:
		return spec{TypeSecurity, CategoryPeriodic, decodeItems[FirewallRule]}, true
	case NameLocalUsers:
		return spec{TypeSecurity, CategoryPeriodic, decodeItems[LocalUser]}, true
	case NameOSBaseline:
		return spec{TypeSecurity, CategoryPeriodic, decodeItems[BaselineCheck]}, true
	case NameSystemInformation:
		return spec{TypeSecurity, CategoryPeriodic, decodeItems[SystemInformation]}, true
	case NameDiagnostic:
		return spec{TypeDiagnostic, CategoryTriggered, decodeItems[Diagnostic]}, true
	case NameConfigurationError:
		return spec{TypeOperational, CategoryTriggered, decodeItems[ConfigurationError]}, true
	case NameDroppedEventsStatistics:
		return spec{TypeOperational, CategoryPeriodic, decodeItems[DroppedEvents]}, true
	case NameMessageStatistics:
		return spec{TypeOperational, CategoryPeriodic, decodeItems[MessageStatistics]}, true
	}
	return spec{}, false
}
