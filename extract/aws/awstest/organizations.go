package awstest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// OrgAccount is an account of the fake organization: its parent is an OU ID or the root "r-root".
type OrgAccount struct {
	ID, Name, State, Parent string
}

// OrgPolicy is a service control policy of the fake organization, attached to Targets (root, OU
// or account IDs).
type OrgPolicy struct {
	ID, Name, Content string
	AWSManaged        bool
	Targets           []string
}

// OrganizationsServer answers the Organizations JSON 1.1 API (X-Amz-Target) for ListAccounts
// (paged two accounts at a time), ListParents, DescribeOrganizationalUnit, DescribeOrganization,
// ListPolicies (paged one at a time), DescribePolicy and ListTargetsForPolicy (paged two at a
// time). The management account is 111122223333, the organization o-pl7demo4x2.
type OrganizationsServer struct {
	URL      string
	Accounts []OrgAccount
	OUs      map[string][2]string // OU ID → {name, parent ID}
	Policies []OrgPolicy
}

const (
	orgID         = "o-pl7demo4x2"
	orgManagement = "111122223333"
)

// PolicyARN is the ARN the server gives a service control policy.
func PolicyARN(id string) string {
	return "arn:aws:organizations::" + orgManagement + ":policy/" + orgID + "/service_control_policy/" + id
}

// NewOrganizationsServer starts the server.
func NewOrganizationsServer(t *testing.T, accounts []OrgAccount, ous map[string][2]string) *OrganizationsServer {
	t.Helper()
	s := &OrganizationsServer{Accounts: accounts, OUs: ous}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

func (s *OrganizationsServer) serve(w http.ResponseWriter, r *http.Request) {
	var in map[string]any
	_ = json.NewDecoder(r.Body).Decode(&in)
	str := func(k string) string { v, _ := in[k].(string); return v }
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSOrganizationsV20161128.")
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	var out any
	switch op {
	case "ListAccounts":
		start, _ := strconv.Atoi(str("NextToken"))
		end := min(start+2, len(s.Accounts))
		var accts []map[string]any
		for _, a := range s.Accounts[start:end] {
			accts = append(accts, map[string]any{"Id": a.ID, "Name": a.Name, "State": a.State,
				"Arn": "arn:aws:organizations::111122223333:account/o-pl7demo4x2/" + a.ID, "Email": a.Name + "@example.com"})
		}
		page := map[string]any{"Accounts": accts}
		if end < len(s.Accounts) {
			page["NextToken"] = strconv.Itoa(end)
		}
		out = page
	case "ListParents":
		parent := ""
		for _, a := range s.Accounts {
			if a.ID == str("ChildId") {
				parent = a.Parent
			}
		}
		if ou, ok := s.OUs[str("ChildId")]; ok {
			parent = ou[1]
		}
		typ := "ORGANIZATIONAL_UNIT"
		if strings.HasPrefix(parent, "r-") {
			typ = "ROOT"
		}
		out = map[string]any{"Parents": []map[string]string{{"Id": parent, "Type": typ}}}
	case "DescribeOrganizationalUnit":
		ou, ok := s.OUs[str("OrganizationalUnitId")]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"OrganizationalUnitNotFoundException","Message":"no such OU"}`))
			return
		}
		out = map[string]any{"OrganizationalUnit": map[string]string{"Id": str("OrganizationalUnitId"), "Name": ou[0]}}
	case "DescribeOrganization":
		out = map[string]any{"Organization": map[string]any{"Id": orgID, "MasterAccountId": orgManagement,
			"Arn": "arn:aws:organizations::" + orgManagement + ":organization/" + orgID, "FeatureSet": "ALL"}}
	case "ListPolicies":
		if str("Filter") != "SERVICE_CONTROL_POLICY" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"InvalidInputException","Message":"unsupported filter"}`))
			return
		}
		start, _ := strconv.Atoi(str("NextToken"))
		page := map[string]any{"Policies": []map[string]any{}}
		if start < len(s.Policies) {
			p := s.Policies[start]
			page["Policies"] = []map[string]any{s.summary(p)}
		}
		if start+1 < len(s.Policies) {
			page["NextToken"] = strconv.Itoa(start + 1)
		}
		out = page
	case "DescribePolicy":
		p, ok := s.policy(str("PolicyId"))
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"PolicyNotFoundException","Message":"no such policy"}`))
			return
		}
		out = map[string]any{"Policy": map[string]any{"PolicySummary": s.summary(p), "Content": p.Content}}
	case "ListTargetsForPolicy":
		p, ok := s.policy(str("PolicyId"))
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"PolicyNotFoundException","Message":"no such policy"}`))
			return
		}
		start, _ := strconv.Atoi(str("NextToken"))
		end := min(start+2, len(p.Targets))
		var targets []map[string]string
		for _, id := range p.Targets[start:end] {
			typ, name := "ACCOUNT", id
			switch {
			case strings.HasPrefix(id, "r-"):
				typ, name = "ROOT", "Root"
			case strings.HasPrefix(id, "ou-"):
				typ, name = "ORGANIZATIONAL_UNIT", s.OUs[id][0]
			}
			targets = append(targets, map[string]string{"TargetId": id, "Type": typ, "Name": name,
				"Arn": "arn:aws:organizations::" + orgManagement + ":target/" + id})
		}
		page := map[string]any{"Targets": targets}
		if end < len(p.Targets) {
			page["NextToken"] = strconv.Itoa(end)
		}
		out = page
	default:
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"InvalidInputException","Message":"unsupported ` + op + `"}`))
		return
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (s *OrganizationsServer) policy(id string) (OrgPolicy, bool) {
	for _, p := range s.Policies {
		if p.ID == id {
			return p, true
		}
	}
	return OrgPolicy{}, false
}

func (s *OrganizationsServer) summary(p OrgPolicy) map[string]any {
	return map[string]any{"Id": p.ID, "Arn": PolicyARN(p.ID), "Name": p.Name, "Description": p.Name,
		"Type": "SERVICE_CONTROL_POLICY", "AwsManaged": p.AWSManaged}
}
