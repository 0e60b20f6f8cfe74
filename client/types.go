package client

import "time"

// LeadForm is what a web form knows about a lead (POST /v1/leads and
// POST /v1/score). Email and Company are required; strings hold at most 256
// bytes. The same email or external id is the same lead.
type LeadForm struct {
	ExternalID  string `json:"external_id,omitempty"`
	Email       string `json:"email"`
	FirstName   string `json:"first_name,omitempty"`
	LastName    string `json:"last_name,omitempty"`
	Phone       string `json:"phone,omitempty"`
	Company     string `json:"company"`
	Title       string `json:"title,omitempty"`
	Industry    string `json:"industry,omitempty"`
	CompanySize string `json:"company_size,omitempty"`
	Country     string `json:"country,omitempty"`
	Region      string `json:"region,omitempty"`
	Timezone    string `json:"timezone,omitempty"` // IANA, e.g. Europe/Berlin
	Language    string `json:"language,omitempty"`
	Source      string `json:"source,omitempty"` // e.g. website, referral, purchased list
	UTMSource   string `json:"utm_source,omitempty"`
	UTMMedium   string `json:"utm_medium,omitempty"`
	UTMCampaign string `json:"utm_campaign,omitempty"`
	Budget      string `json:"budget,omitempty"`
	Authority   string `json:"authority,omitempty"`
	Need        string `json:"need,omitempty"`
	Timeline    string `json:"timeline,omitempty"`
	Consent     *bool  `json:"consent,omitempty"`
}

// Reason is one input's contribution to a score.
type Reason struct {
	Feature string  `json:"feature"` // column, "name=value" for a categorical one
	Value   float64 `json:"value"`
	Impact  float64 `json:"impact"` // change in log-odds; positive raises the probability
}

// Score is the answer of POST /v1/score.
type Score struct {
	Probability  float64  `json:"probability"` // calibrated conversion probability if reached
	Tier         string   `json:"tier"`        // A, B, C or D
	ModelVersion string   `json:"model_version"`
	Reasons      []Reason `json:"reasons"`
}

// LeadScore is the answer of POST /v1/leads.
type LeadScore struct {
	LeadID       string   `json:"lead_id"`
	Probability  float64  `json:"probability"`
	Tier         string   `json:"tier"`
	ModelVersion string   `json:"model_version"`
	Reasons      []Reason `json:"reasons"`
	Pool         string   `json:"pool"`
	Priority     float64  `json:"priority"` // 0 when not queued
	State        string   `json:"state"`    // lifecycle state after the submission
	// Created is true when the lead is new (201), false when it existed (200).
	Created bool `json:"-"`
}

// Event is one behavioural event (the Kafka contract).
type Event struct {
	EventID string         `json:"event_id"` // unique: a repeated id changes nothing
	LeadID  string         `json:"lead_id"`
	Type    string         `json:"type"` // e.g. page_viewed, demo_requested, email_replied
	TS      time.Time      `json:"ts"`
	Props   map[string]any `json:"props,omitempty"`
}

// EventsResult is the answer of POST /v1/events.
type EventsResult struct {
	Accepted int          `json:"accepted"` // written to Kafka
	Errors   []EventError `json:"errors"`
}

// EventError says why the event at Index of the batch was refused.
type EventError struct {
	Index   int     `json:"index"`
	Problem Problem `json:"problem"`
}

// SLA is a lead's speed-to-lead clock.
type SLA struct {
	DueAt          *time.Time `json:"due_at"`
	FirstAttemptAt *time.Time `json:"first_attempt_at"` // nil before the first attempt
	Breached       bool       `json:"breached"`
}

// Lead is the answer of GET /v1/leads/{id}, and the lead of a Claim.
type Lead struct {
	LeadID       string         `json:"lead_id"`
	State        string         `json:"state"` // lifecycle state
	Probability  float64        `json:"probability"`
	Tier         string         `json:"tier"`
	ModelVersion string         `json:"model_version"`
	Reasons      []Reason       `json:"reasons"`
	Features     map[string]any `json:"features"`
	TriggerAt    *time.Time     `json:"trigger_at"` // latest high-intent event; nil if none
	Attempts     int            `json:"attempts"`
	Pool         string         `json:"pool"`
	SLA          *SLA           `json:"sla"` // nil while the lead is not in the queue
}

// QueueItem is one ranked lead of GET /v1/queue, with the parts of its
// priority: Priority = Probability × ContactFactor × AttemptFactor.
type QueueItem struct {
	LeadID        string  `json:"lead_id"`
	Priority      float64 `json:"priority"`
	Probability   float64 `json:"probability"`
	ContactFactor float64 `json:"contact_factor"`
	AttemptFactor float64 `json:"attempt_factor"`
	AgeSeconds    float64 `json:"age_seconds"`
	Segment       int     `json:"segment"`
	Pool          string  `json:"pool"`
	Attempts      int     `json:"attempts"`
	SLABreached   bool    `json:"sla_breached"`
}

// NextRequest asks for the next-best lead for a rep.
type NextRequest struct {
	SDRID string   `json:"sdr_id"`
	Pools []string `json:"pools,omitempty"` // the server's default pool when empty
}

// Claim is a lead leased to one rep until LeaseExpiresAt.
type Claim struct {
	ClaimID        string    `json:"claim_id"` // needed for Extend, Release and Outcome
	LeaseExpiresAt time.Time `json:"lease_expires_at"`
	Priority       float64   `json:"priority"` // when claimed
	Lead           Lead      `json:"lead"`
}

// Lease is the answer of Extend.
type Lease struct {
	ClaimID        string    `json:"claim_id"`
	LeaseExpiresAt time.Time `json:"lease_expires_at"`
}

// CallOutcome is how a claimed call went.
type CallOutcome string

// Call outcomes.
const (
	NoAnswer               CallOutcome = "no_answer"
	Voicemail              CallOutcome = "voicemail"
	Busy                   CallOutcome = "busy"
	BadNumber              CallOutcome = "bad_number"
	ConnectedNotInterested CallOutcome = "connected_not_interested"
	CallbackRequested      CallOutcome = "callback_requested"
	MeetingBooked          CallOutcome = "meeting_booked"
	Disqualified           CallOutcome = "disqualified"
	Rejected               CallOutcome = "rejected" // the rep declined the lead at once
	Returned               CallOutcome = "returned" // the rep worked the lead and hands it back
)

// OutcomeRequest reports a claimed call.
type OutcomeRequest struct {
	ClaimID    string      `json:"claim_id"`
	SDRID      string      `json:"sdr_id"`
	Outcome    CallOutcome `json:"outcome"`
	CallbackAt *time.Time  `json:"callback_at,omitempty"` // for CallbackRequested; now when nil
	Note       string      `json:"note,omitempty"`
	Reason     string      `json:"reason,omitempty"` // closed-loop reason, e.g. no_budget
}

// OutcomeResult is what an outcome did to the lead.
type OutcomeResult struct {
	LeadID        string     `json:"lead_id"`
	State         string     `json:"state"`
	NextAttemptAt *time.Time `json:"next_attempt_at"` // nil when no attempt is scheduled
	Attempts      int        `json:"attempts"`
}

// Model is the answer of GET /v1/model: the model a replica serves.
type Model struct {
	Version string     `json:"version"` // "prior" for the cold-start prior
	Card    *ModelCard `json:"card"`    // nil for the prior
}

// ModelCard is how a model was trained and how good it is on its holdout.
type ModelCard struct {
	Version         string       `json:"version"`
	Kind            string       `json:"kind"`
	SpecVersion     string       `json:"spec_version"`
	Source          string       `json:"source"`
	CreatedAt       time.Time    `json:"created_at"`
	TrainingSeconds float64      `json:"training_seconds"`
	Metrics         ModelMetrics `json:"metrics"`
	Holdout         string       `json:"holdout"`
}

// ModelMetrics are a model's scores on its holdout.
type ModelMetrics struct {
	N         int     `json:"n"`
	Positives int     `json:"positives"`
	AUC       float64 `json:"auc"`
	LogLoss   float64 `json:"log_loss"`
	Brier     float64 `json:"brier"`
	ECE       float64 `json:"ece"` // expected calibration error
}

// ModelEntry is one registered model version.
type ModelEntry struct {
	Version   string     `json:"version"`
	CreatedAt time.Time  `json:"created_at"`
	Champion  bool       `json:"champion"`
	Card      *ModelCard `json:"card"`
}

// ModelVersions is the answer of GET /v1/model/versions.
type ModelVersions struct {
	Serving  string       `json:"serving"` // the version the answering replica serves
	Versions []ModelEntry `json:"versions"`
}

// RetrainResult says what POST /v1/model/retrain did.
type RetrainResult struct {
	Trained     bool       `json:"trained"`
	Promoted    bool       `json:"promoted"`
	Version     string     `json:"version"`
	Reason      string     `json:"reason"` // why it did not train or promote
	Champion    string     `json:"champion"`
	ChampionAUC float64    `json:"champion_auc"`
	Card        *ModelCard `json:"card"`
}
