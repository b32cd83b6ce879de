package sqlstore

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// storedItem is an item of a row as read back.
type storedItem struct {
	ID, Change, Remote, Result string
	Time, LastTime             time.Time // LastTime zero when absent ("l" left out: Time)
	Count                      int64
	Fields                     map[string]string // nil unless asked for, or when absent
}

var errItems = errors.New("not an array of item objects")

// itemReader decodes the items column, one token at a time: it reads
// every row of a listing and of the warm-up, and every row in the window
// of the overview's top queries, so it avoids encoding/json's reflection
// (which took three quarters of a top query). Not safe for concurrent use.
type itemReader struct {
	r   bytes.Reader
	dec *jsontext.Decoder
}

// each calls fn with each item of raw, with its fields when fields is set
// (the top queries need none).
func (ir *itemReader) each(raw []byte, fields bool, fn func(*storedItem)) error {
	ir.r.Reset(raw)
	if ir.dec == nil {
		// The store wrote the column: checking names for repeats would
		// only cost (a repeat would keep its last value).
		ir.dec = jsontext.NewDecoder(&ir.r, jsontext.AllowDuplicateNames(true))
	} else {
		ir.dec.Reset(&ir.r, jsontext.AllowDuplicateNames(true))
	}
	dec := ir.dec
	if err := ir.delim('['); err != nil {
		return err
	}
	for dec.PeekKind() == '{' {
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		var it storedItem
		for dec.PeekKind() == '"' {
			k, err := dec.ReadToken()
			if err != nil {
				return err
			}
			switch k.String() {
			case "i":
				it.ID, err = ir.str()
			case "ch":
				it.Change, err = ir.str()
			case "ra":
				it.Remote, err = ir.str()
			case "r":
				it.Result, err = ir.str()
			case "t":
				it.Time, err = ir.time()
			case "l":
				it.LastTime, err = ir.time()
			case "c":
				var tok jsontext.Token
				if tok, err = dec.ReadToken(); err == nil {
					if tok.Kind() != '0' {
						return fmt.Errorf("items: count: %w", errItems)
					}
					it.Count, err = tok.Int()
				}
			case "f":
				if fields {
					it.Fields, err = ir.fields()
				} else {
					err = dec.SkipValue()
				}
			default:
				err = dec.SkipValue()
			}
			if err != nil {
				return fmt.Errorf("items: %w", err)
			}
		}
		if err := ir.delim('}'); err != nil {
			return err
		}
		fn(&it)
	}
	return ir.delim(']')
}

// delim reads the delimiter want.
func (ir *itemReader) delim(want jsontext.Kind) error {
	if ir.dec.PeekKind() != want {
		return fmt.Errorf("items: %w", errItems)
	}
	_, err := ir.dec.ReadToken()
	return err
}

func (ir *itemReader) str() (string, error) {
	tok, err := ir.dec.ReadToken()
	if err != nil {
		return "", err
	}
	if tok.Kind() != '"' {
		return "", errItems
	}
	return tok.String(), nil
}

func (ir *itemReader) time() (time.Time, error) {
	s, err := ir.str()
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err
}

func (ir *itemReader) fields() (map[string]string, error) {
	if err := ir.delim('{'); err != nil {
		return nil, err
	}
	m := map[string]string{}
	for ir.dec.PeekKind() == '"' {
		k, err := ir.str()
		if err != nil {
			return nil, err
		}
		v, err := ir.str()
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, ir.delim('}')
}
