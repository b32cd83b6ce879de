package tokenclient_test

import (
	"context"
	"errors"
	"log"

	"github.com/moatsec/moat/tokenclient"
)

func Example() {
	c, err := tokenclient.New(tokenclient.Config{
		Server:    "https://moat.example.com:8443",
		Namespace: "moat.example.com",
		DeviceID:  "sensor-042",
		Key:       "bW9hdC1leGFtcGxlLWRldmljZS1rZXktMzItYnl0ZXM=", // the device's own base64 key
		Firmware:  "1.4.2",
	})
	if err != nil {
		log.Fatal(err)
	}
	err = c.Send(context.Background(), []byte(`{"temp": 21.5}`), "application/json")
	var r *tokenclient.Refusal
	switch {
	case errors.As(err, &r) && r.Reason == tokenclient.ReasonQuarantined:
		log.Printf("quarantined by the operator: %s", r.Message)
	case err != nil:
		log.Printf("send: %v (retrying later)", err)
	}
}
