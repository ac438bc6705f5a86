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

// OrganizationsServer answers the Organizations JSON 1.1 API (X-Amz-Target) for ListAccounts
// (paged two accounts at a time), ListParents and DescribeOrganizationalUnit.
type OrganizationsServer struct {
	URL      string
	Accounts []OrgAccount
	OUs      map[string][2]string // OU ID → {name, parent ID}
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
	var in map[string]string
	_ = json.NewDecoder(r.Body).Decode(&in)
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSOrganizationsV20161128.")
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	var out any
	switch op {
	case "ListAccounts":
		start, _ := strconv.Atoi(in["NextToken"])
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
			if a.ID == in["ChildId"] {
				parent = a.Parent
			}
		}
		if ou, ok := s.OUs[in["ChildId"]]; ok {
			parent = ou[1]
		}
		typ := "ORGANIZATIONAL_UNIT"
		if strings.HasPrefix(parent, "r-") {
			typ = "ROOT"
		}
		out = map[string]any{"Parents": []map[string]string{{"Id": parent, "Type": typ}}}
	case "DescribeOrganizationalUnit":
		ou, ok := s.OUs[in["OrganizationalUnitId"]]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"OrganizationalUnitNotFoundException","Message":"no such OU"}`))
			return
		}
		out = map[string]any{"OrganizationalUnit": map[string]string{"Id": in["OrganizationalUnitId"], "Name": ou[0]}}
	default:
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"InvalidInputException","Message":"unsupported ` + op + `"}`))
		return
	}
	_ = json.NewEncoder(w).Encode(out)
}
