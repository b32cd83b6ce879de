package httpapi

import (
	"net/http"
	"time"

	"github.com/moatsec/moat/internal/hub"
	"github.com/moatsec/moat/internal/store"
	"github.com/moatsec/moat/sas"
)

// hubView is the JSON shape of a hub.
type hubView struct {
	Name           string    `json:"name"`
	Partitions     int       `json:"partitions"`
	RetentionHours int       `json:"retentionHours"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

func viewHub(h store.Hub) hubView {
	return hubView{h.Name, h.Partitions, h.RetentionHours, h.CreatedAt, h.UpdatedAt}
}

func (a *API) listHubs(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.authorize(r, "/", hub.Manage); err != nil {
		return err
	}
	hs, err := a.core.ListHubs(r.Context())
	if err != nil {
		return err
	}
	out := make([]hubView, 0, len(hs))
	for _, h := range hs {
		out = append(out, viewHub(h))
	}
	WriteJSON(w, http.StatusOK, map[string]any{"hubs": out})
	return nil
}

func (a *API) putHub(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.authorize(r, "/", hub.Manage); err != nil {
		return err
	}
	var spec hub.HubSpec
	if r.ContentLength != 0 {
		if err := DecodeJSON(w, r, &spec); err != nil {
			return err
		}
	}
	h, created, err := a.core.PutHub(r.Context(), r.PathValue("hub"), spec)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	WriteJSON(w, status, viewHub(h))
	return nil
}

func (a *API) getHub(w http.ResponseWriter, r *http.Request) error {
	h, err := hubParam(r)
	if err != nil {
		return err
	}
	if _, err := a.authorize(r, resourceOf(h), hub.Manage); err != nil {
		return err
	}
	meta, err := a.core.GetHub(r.Context(), h)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewHub(meta))
	return nil
}

func (a *API) deleteHub(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.authorize(r, "/", hub.Manage); err != nil {
		return err
	}
	if err := a.core.DeleteHub(r.Context(), r.PathValue("hub")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// ruleScope authorizes a rule operation: namespace rules need a namespace
// Manage token, hub rules a Manage token covering the hub.
func (a *API) ruleScope(r *http.Request) (string, error) {
	if r.PathValue("hub") == "" {
		_, err := a.authorize(r, "/", hub.Manage)
		return "", err
	}
	h, err := hubParam(r)
	if err != nil {
		return "", err
	}
	_, err = a.authorize(r, resourceOf(h), hub.Manage)
	return h, err
}

// ruleView adds connection strings to a rule with keys.
type ruleView struct {
	hub.RuleKeys
	PrimaryConnectionString   string `json:"primaryConnectionString,omitempty"`
	SecondaryConnectionString string `json:"secondaryConnectionString,omitempty"`
}

func (a *API) viewRule(rk hub.RuleKeys) ruleView {
	v := ruleView{RuleKeys: rk}
	if rk.PrimaryKey == "" {
		return v
	}
	cs := sas.ConnectionString{Endpoint: "sb://" + a.core.Namespace() + "/", SharedAccessKeyName: rk.Name, EntityPath: rk.Hub}
	cs.SharedAccessKey = rk.PrimaryKey
	v.PrimaryConnectionString = cs.String()
	cs.SharedAccessKey = rk.SecondaryKey
	v.SecondaryConnectionString = cs.String()
	return v
}

func (a *API) listRules(w http.ResponseWriter, r *http.Request) error {
	h, err := a.ruleScope(r)
	if err != nil {
		return err
	}
	rules, err := a.core.ListRules(r.Context(), h)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, map[string]any{"rules": rules})
	return nil
}

type putRuleBody struct {
	Rights []string `json:"rights"`
}

func (a *API) putRule(w http.ResponseWriter, r *http.Request) error {
	h, err := a.ruleScope(r)
	if err != nil {
		return err
	}
	var body putRuleBody
	if err := DecodeJSON(w, r, &body); err != nil {
		return err
	}
	rk, created, err := a.core.PutRule(r.Context(), h, r.PathValue("rule"), body.Rights)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	WriteJSON(w, status, a.viewRule(rk))
	return nil
}

func (a *API) getRule(w http.ResponseWriter, r *http.Request) error {
	return a.showRule(w, r, false)
}

func (a *API) listKeys(w http.ResponseWriter, r *http.Request) error {
	return a.showRule(w, r, true)
}

func (a *API) showRule(w http.ResponseWriter, r *http.Request, withKeys bool) error {
	h, err := a.ruleScope(r)
	if err != nil {
		return err
	}
	rk, err := a.core.GetRule(r.Context(), h, r.PathValue("rule"), withKeys)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, a.viewRule(rk))
	return nil
}

type regenerateBody struct {
	KeyType hub.KeyType `json:"keyType"`
}

func (a *API) regenerate(w http.ResponseWriter, r *http.Request) error {
	h, err := a.ruleScope(r)
	if err != nil {
		return err
	}
	var body regenerateBody
	if err := DecodeJSON(w, r, &body); err != nil {
		return err
	}
	rk, err := a.core.RegenerateKey(r.Context(), h, r.PathValue("rule"), body.KeyType)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, a.viewRule(rk))
	return nil
}

func (a *API) deleteRule(w http.ResponseWriter, r *http.Request) error {
	h, err := a.ruleScope(r)
	if err != nil {
		return err
	}
	if err := a.core.DeleteRule(r.Context(), h, r.PathValue("rule")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// Revoked publishers (Event Hubs paths, Manage on the hub).

func (a *API) revocationScope(r *http.Request) (string, error) {
	h, err := hubParam(r)
	if err != nil {
		return "", err
	}
	_, err = a.authorize(r, resourceOf(h), hub.Manage)
	return h, err
}

func (a *API) listRevoked(w http.ResponseWriter, r *http.Request) error {
	h, err := a.revocationScope(r)
	if err != nil {
		return err
	}
	list, err := a.core.ListRevoked(r.Context(), h)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, map[string]any{"revokedPublishers": list})
	return nil
}

func (a *API) revoke(w http.ResponseWriter, r *http.Request) error {
	h, err := a.revocationScope(r)
	if err != nil {
		return err
	}
	rp, err := a.core.Revoke(r.Context(), h, r.PathValue("publisher"))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, rp)
	return nil
}

func (a *API) restore(w http.ResponseWriter, r *http.Request) error {
	h, err := a.revocationScope(r)
	if err != nil {
		return err
	}
	if err := a.core.Restore(r.Context(), h, r.PathValue("publisher")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
