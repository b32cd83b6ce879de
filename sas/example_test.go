package sas_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/moatsec/moat/sas"
)

func ExampleSign() {
	// The official Event Hubs test vector.
	fmt.Println(sas.Sign("audience", "keyName", "key", time.Unix(1578099723, 0)))
	// Output:
	// SharedAccessSignature sr=audience&sig=8UM0iIfFCfeBSqxSdBMW8pUbhAm7mnjSUaIZTZx8V0g%3D&se=1578099723&skn=keyName
}

func ExampleSignIoTHub() {
	// The official IoT Hub test vector: the key is base64 and there is no
	// key name.
	tok, err := sas.SignIoTHub("test.azure-devices.net", "", "c2VjcmV0", time.Unix(1546308061, 0))
	if err != nil {
		panic(err)
	}
	fmt.Println(tok)
	// Output:
	// SharedAccessSignature sr=test.azure-devices.net&sig=uux4PSAK1s9efNcBHin0pm7O5oENedTWkhqGp8JAyFY%3D&se=1546308061
}

// A gate authorizing a publish to /hub/publishers/dev1 on its namespace.
func ExampleParse() {
	const (
		namespace = "ns.servicebus.windows.net"
		primary   = "primary-key"
		secondary = "secondary-key"
	)
	header := sas.Sign("sb://ns.servicebus.windows.net/hub/publishers/dev1", "send", secondary, time.Unix(1_800_000_000, 0))
	now := time.Unix(1_799_999_000, 0)

	tok, err := sas.Parse(header)
	if err != nil {
		fmt.Println("reject:", err)
		return
	}
	key, err := tok.Check(now, sas.DefaultSkew, primary, secondary)
	if err != nil {
		fmt.Println("reject:", err)
		return
	}
	scope, err := tok.Scope(namespace)
	if err != nil {
		fmt.Println("reject:", err)
		return
	}
	target, err := sas.CanonicalPath("/hub/publishers/DEV1")
	if err != nil {
		fmt.Println("reject:", err)
		return
	}
	fmt.Println("key index:", key)
	fmt.Println("scope:", scope)
	fmt.Println("allowed:", sas.Covers(scope, target))
	fmt.Println("allowed elsewhere:", sas.Covers(scope, "/hub/publishers/dev2"))
	// Output:
	// key index: 1
	// scope: /hub/publishers/dev1
	// allowed: true
	// allowed elsewhere: false
}

func ExampleToken_Scope() {
	for _, sr := range []string{
		"sb%3a%2f%2fns.example.net%2fHub%2fpublishers%2fdev1",
		"https%3A%2F%2Fns.example.net%3A443%2Fhub",
		"ns.example.net",
		"other.example.net%2Fhub",
		"ns.example.net%2Fhub%2F..%2Fother",
	} {
		scope, err := sas.Token{Resource: sr}.Scope("NS.example.net")
		switch {
		case errors.Is(err, sas.ErrWrongNamespace):
			fmt.Println("wrong namespace")
		case errors.Is(err, sas.ErrMalformed):
			fmt.Println("malformed")
		default:
			fmt.Println(scope)
		}
	}
	// Output:
	// /hub/publishers/dev1
	// /hub
	// /
	// wrong namespace
	// malformed
}

func ExampleParseConnectionString() {
	c, err := sas.ParseConnectionString("Endpoint=sb://NS.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=c2VjcmV0c2VjcmV0=;EntityPath=hub;")
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Namespace())
	fmt.Println(c.EntityPath)
	fmt.Println(c.Redacted())
	// Output:
	// ns.servicebus.windows.net
	// hub
	// Endpoint=sb://NS.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=REDACTED;EntityPath=hub
}
