package device

import (
	"context"
	"strings"

	"github.com/moatsec/moat/internal/apierr"
	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/store"
)

// Filter selects devices in List. Zero fields match every device.
type Filter struct {
	Status   string
	Hub      string
	TagKey   string // devices carrying this tag
	TagValue string // with TagKey: with this value
	After    string // the Next of the previous page
	Limit    int    // 1..MaxPageSize; 0 = DefaultPageSize
}

// Page sizes of List.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Page is one page of List, ordered by ID. Next is the After of the
// following page, or "" on the last page: a full page sets it, so the
// following page may be empty.
type Page struct {
	Devices []Device `json:"devices"`
	Next    string   `json:"next"`
}

// List returns one page of the devices f selects, without keys. A bad
// filter is 400 invalid_query.
func (s *Service) List(ctx context.Context, f Filter) (Page, error) {
	sf, err := storeFilter(f)
	if err != nil {
		return Page{}, err
	}
	ds, err := s.store.ListDevices(ctx, sf)
	if err != nil {
		return Page{}, hub.StoreError(err)
	}
	p := Page{Devices: make([]Device, 0, len(ds))}
	for _, sd := range ds {
		v, err := s.view(sd, false)
		if err != nil {
			return Page{}, err
		}
		p.Devices = append(p.Devices, v)
	}
	if len(ds) == sf.Limit {
		p.Next = ds[len(ds)-1].ID
	}
	return p, nil
}

func storeFilter(f Filter) (store.DeviceFilter, error) {
	sf := store.DeviceFilter{Status: f.Status, TagKey: f.TagKey, TagVal: f.TagValue, After: strings.ToLower(f.After), Limit: f.Limit}
	if sf.Limit == 0 {
		sf.Limit = DefaultPageSize
	}
	if sf.Limit < 1 || sf.Limit > MaxPageSize {
		return store.DeviceFilter{}, badQuery("limit must be 1..%d", MaxPageSize)
	}
	if sf.Status != "" && !validStatus(sf.Status) {
		return store.DeviceFilter{}, badQuery("status %.64q: want %s", sf.Status, statusList)
	}
	if f.Hub != "" {
		h, err := hub.CanonicalHub(f.Hub)
		if err != nil {
			return store.DeviceFilter{}, badQuery("%s", apierr.As(err).Message)
		}
		sf.Hub = h
	}
	if sf.TagKey != "" {
		if err := checkTagKey(sf.TagKey); err != nil {
			return store.DeviceFilter{}, badQuery("%v", err)
		}
	} else if sf.TagVal != "" {
		return store.DeviceFilter{}, badQuery("a tag value needs a tag key")
	}
	return sf, nil
}

func badQuery(format string, args ...any) *apierr.Error {
	return apierr.BadRequest("invalid_query", format, args...)
}
