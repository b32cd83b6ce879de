package spool_test

import (
	"fmt"
	"log"
	"os"

	"github.com/moatsec/moat/internal/agent/spool"
)

// The collectors Put records; the uploader Peeks a batch, sends it and
// acknowledges it only once the hub answered 2xx.
func Example() {
	dir, err := os.MkdirTemp("", "spool-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := spool.Open(dir, spool.Options{Capacity: 10 << 20})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	_ = s.Put(spool.Low, []byte(`{"ListeningPorts":[22]}`))
	_ = s.Put(spool.High, []byte(`{"Login":"failed"}`))

	batch, err := s.Peek(100, 256<<10)
	if err != nil {
		log.Fatal(err)
	}
	for _, it := range batch {
		fmt.Printf("%s #%d %s\n", it.Prio, it.Seq, it.Data)
	}
	// ... send batch; on a 2xx answer:
	if err := s.Ack(batch...); err != nil {
		log.Fatal(err)
	}
	st, _ := s.Stats()
	fmt.Println("pending:", st.High.Items+st.Low.Items)
	// Output:
	// high #1 {"Login":"failed"}
	// low #1 {"ListeningPorts":[22]}
	// pending: 0
}
