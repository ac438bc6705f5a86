package transform

import (
	"bytes"
	"fmt"
	"strings"

	json "github.com/goccy/go-json"

	"github.com/permlake/permlake/schemas"
)

// azAuditRecord is an Entra ID audit record as the diagnostic-settings export writes it
// (FORMATS.md §4.4; properties follow Graph's directoryAudit resource,
// https://learn.microsoft.com/graph/api/resources/directoryaudit).
type azAuditRecord struct {
	Time       *azText         `json:"time"`
	Properties json.RawMessage `json:"properties"`
}

type azAuditProperties struct {
	ID                  azText          `json:"id"`
	Category            azText          `json:"category"`
	CorrelationID       azText          `json:"correlationId"`
	Result              azText          `json:"result"`
	ActivityDisplayName azText          `json:"activityDisplayName"`
	ActivityDateTime    azText          `json:"activityDateTime"`
	LoggedByService     azText          `json:"loggedByService"`
	OperationType       azText          `json:"operationType"`
	TargetResources     json.RawMessage `json:"targetResources"`
	InitiatedBy         struct {
		User *struct {
			ID                azText `json:"id"`
			UserPrincipalName azText `json:"userPrincipalName"`
		} `json:"user"`
		App *struct {
			ServicePrincipalID azText `json:"servicePrincipalId"`
			DisplayName        azText `json:"displayName"`
		} `json:"app"`
	} `json:"initiatedBy"`
}

// AzureAudit turns one Entra ID audit record (one line of an insights-logs-auditlogs blob) into
// a row. The record must have properties.id and a time (the record's, else
// properties.activityDateTime); errors name the record and what is missing.
func AzureAudit(line []byte, meta RecordMeta) (schemas.AzureAuditEvent, error) {
	var r azAuditRecord
	if err := json.Unmarshal(azTrimRecord(line), &r); err != nil {
		return schemas.AzureAuditEvent{}, fmt.Errorf("audit record %s: %w", meta.name(), err)
	}
	var p azAuditProperties
	if raw := bytes.TrimSpace(r.Properties); len(raw) == 0 || raw[0] != '{' {
		return schemas.AzureAuditEvent{}, fmt.Errorf("audit record %s: no properties", meta.name())
	} else if err := json.Unmarshal(raw, &p); err != nil {
		return schemas.AzureAuditEvent{}, fmt.Errorf("audit record %s: properties: %w", meta.name(), err)
	}
	if p.ID == "" {
		return schemas.AzureAuditEvent{}, fmt.Errorf("audit record %s: no properties.id", meta.name())
	}
	ts := string(p.ActivityDateTime)
	if r.Time != nil && *r.Time != "" {
		ts = string(*r.Time)
	}
	if ts == "" {
		return schemas.AzureAuditEvent{}, fmt.Errorf("audit record %s (%s): no time", meta.name(), p.ID)
	}
	at, err := azParseTime(ts)
	if err != nil {
		return schemas.AzureAuditEvent{}, fmt.Errorf("audit record %s (%s): time: %w", meta.name(), p.ID, err)
	}
	ev := schemas.AzureAuditEvent{
		AuditID:             string(p.ID),
		EventTime:           at,
		Category:            opt(string(p.Category)),
		ActivityDisplayName: opt(string(p.ActivityDisplayName)),
		OperationType:       opt(string(p.OperationType)),
		Result:              opt(string(p.Result)),
		IsSuccess:           strings.EqualFold(string(p.Result), "success"),
		LoggedByService:     opt(string(p.LoggedByService)),
		CorrelationID:       opt(string(p.CorrelationID)),
		TargetResources:     optJSON(p.TargetResources),
		Properties:          optJSON(r.Properties),
		RunID:               meta.RunID,
		SourceKey:           meta.SourceKey,
		SourceLine:          meta.Line,
	}
	switch u, a := p.InitiatedBy.User, p.InitiatedBy.App; {
	case u != nil && azOptGUID(string(u.ID)) != nil:
		ev.InitiatedByID, ev.InitiatedByType, ev.InitiatedByName = azOptGUID(string(u.ID)), opt(schemas.AzureUser), opt(string(u.UserPrincipalName))
	case a != nil && azOptGUID(string(a.ServicePrincipalID)) != nil:
		ev.InitiatedByID, ev.InitiatedByType, ev.InitiatedByName = azOptGUID(string(a.ServicePrincipalID)), opt(schemas.AzureServicePrincipal), opt(string(a.DisplayName))
	}
	return ev, nil
}
