package transform

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/permlake/permlake/schemas"
)

// gaadPage is one GetAccountAuthorizationDetails response in the API's field names
// (FORMATS.md §3.1). Dates are RFC 3339; policy documents are URL-encoded JSON strings.
type gaadPage struct {
	UserDetailList []struct {
		Path                    string         `json:"Path"`
		UserName                string         `json:"UserName"`
		UserID                  string         `json:"UserId"`
		ARN                     string         `json:"Arn"`
		CreateDate              time.Time      `json:"CreateDate"`
		UserPolicyList          []inlinePolicy `json:"UserPolicyList"`
		GroupList               []string       `json:"GroupList"`
		AttachedManagedPolicies []attached     `json:"AttachedManagedPolicies"`
		PermissionsBoundary     *boundary      `json:"PermissionsBoundary"`
		Tags                    []tag          `json:"Tags"`
	} `json:"UserDetailList"`
	GroupDetailList []struct {
		Path                    string         `json:"Path"`
		GroupName               string         `json:"GroupName"`
		GroupID                 string         `json:"GroupId"`
		ARN                     string         `json:"Arn"`
		CreateDate              time.Time      `json:"CreateDate"`
		GroupPolicyList         []inlinePolicy `json:"GroupPolicyList"`
		AttachedManagedPolicies []attached     `json:"AttachedManagedPolicies"`
	} `json:"GroupDetailList"`
	RoleDetailList []struct {
		Path                     string         `json:"Path"`
		RoleName                 string         `json:"RoleName"`
		RoleID                   string         `json:"RoleId"`
		ARN                      string         `json:"Arn"`
		CreateDate               time.Time      `json:"CreateDate"`
		AssumeRolePolicyDocument string         `json:"AssumeRolePolicyDocument"`
		RolePolicyList           []inlinePolicy `json:"RolePolicyList"`
		AttachedManagedPolicies  []attached     `json:"AttachedManagedPolicies"`
		PermissionsBoundary      *boundary      `json:"PermissionsBoundary"`
		Tags                     []tag          `json:"Tags"`
		RoleLastUsed             *struct {
			LastUsedDate *time.Time `json:"LastUsedDate"`
			Region       string     `json:"Region"`
		} `json:"RoleLastUsed"`
	} `json:"RoleDetailList"`
	Policies []struct {
		PolicyName        string    `json:"PolicyName"`
		PolicyID          string    `json:"PolicyId"`
		ARN               string    `json:"Arn"`
		Path              string    `json:"Path"`
		DefaultVersionID  string    `json:"DefaultVersionId"`
		AttachmentCount   int64     `json:"AttachmentCount"`
		IsAttachable      bool      `json:"IsAttachable"`
		CreateDate        time.Time `json:"CreateDate"`
		UpdateDate        time.Time `json:"UpdateDate"`
		PolicyVersionList []struct {
			Document         string `json:"Document"`
			VersionID        string `json:"VersionId"`
			IsDefaultVersion bool   `json:"IsDefaultVersion"`
		} `json:"PolicyVersionList"`
	} `json:"Policies"`
	IsTruncated bool   `json:"IsTruncated"`
	Marker      string `json:"Marker"`
}

type inlinePolicy struct {
	PolicyName     string `json:"PolicyName"`
	PolicyDocument string `json:"PolicyDocument"`
}

type attached struct {
	PolicyName string `json:"PolicyName"`
	PolicyARN  string `json:"PolicyArn"`
}

type boundary struct {
	PermissionsBoundaryARN string `json:"PermissionsBoundaryArn"`
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// IAMSnapshot holds the rows of one account's entitlement snapshot.
type IAMSnapshot struct {
	Users       []schemas.IAMUser
	Groups      []schemas.IAMGroup
	Roles       []schemas.IAMRole
	Policies    []schemas.IAMPolicy
	Memberships []schemas.IAMGroupMembership
	Attachments []schemas.IAMPolicyAttachment
	Statements  []schemas.IAMPolicyStatement
}

// SnapshotMeta says whose snapshot it is and when it was taken.
type SnapshotMeta struct {
	AccountID  string
	SnapshotAt time.Time
	Lineage
}

// InlinePolicyKey is the policy_key of an inline policy: the principal ARN, "#inline/", the name.
func InlinePolicyKey(principalARN, name string) string { return principalARN + "#inline/" + name }

// GAAD turns every page of one account's GetAccountAuthorizationDetails response into snapshot
// rows. All pages are needed at once: group ARNs for memberships come from GroupDetailList, which
// may sit on another page than the user. Errors name the page, entity and policy at fault.
func GAAD(pages [][]byte, meta SnapshotMeta) (*IAMSnapshot, error) {
	var all gaadPage
	for i, b := range pages {
		var p gaadPage
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("gaad page %d: %w", i+1, err)
		}
		all.UserDetailList = append(all.UserDetailList, p.UserDetailList...)
		all.GroupDetailList = append(all.GroupDetailList, p.GroupDetailList...)
		all.RoleDetailList = append(all.RoleDetailList, p.RoleDetailList...)
		all.Policies = append(all.Policies, p.Policies...)
		if i == len(pages)-1 && p.IsTruncated {
			return nil, fmt.Errorf("gaad page %d is truncated (marker %q) but no page follows", i+1, p.Marker)
		}
	}
	s := &IAMSnapshot{}
	at, lin := meta.SnapshotAt.UTC(), meta.Lineage
	stBase := schemas.IAMPolicyStatement{SnapshotAt: at, RunID: lin.RunID, SourceKey: lin.SourceKey}
	addInline := func(principalARN, principalType string, ps []inlinePolicy) error {
		for _, p := range ps {
			doc, err := DecodePolicyDocument(p.PolicyDocument)
			if err != nil {
				return fmt.Errorf("%s inline policy %s: %w", principalARN, p.PolicyName, err)
			}
			key := InlinePolicyKey(principalARN, p.PolicyName)
			s.Attachments = append(s.Attachments, schemas.IAMPolicyAttachment{
				PrincipalARN: principalARN, PrincipalType: principalType, PolicyType: schemas.PolicyInline,
				PolicyKey: key, PolicyName: p.PolicyName, Document: &doc,
				SnapshotAt: at, RunID: lin.RunID, SourceKey: lin.SourceKey,
			})
			sts, err := PolicyStatements(key, doc, stBase)
			if err != nil {
				return err
			}
			s.Statements = append(s.Statements, sts...)
		}
		return nil
	}
	addManaged := func(principalARN, principalType string, ps []attached) {
		for _, p := range ps {
			arn := p.PolicyARN
			s.Attachments = append(s.Attachments, schemas.IAMPolicyAttachment{
				PrincipalARN: principalARN, PrincipalType: principalType, PolicyType: schemas.PolicyManaged,
				PolicyKey: arn, PolicyARN: &arn, PolicyName: p.PolicyName,
				SnapshotAt: at, RunID: lin.RunID, SourceKey: lin.SourceKey,
			})
		}
	}

	groupARN := map[string]string{}
	for _, g := range all.GroupDetailList {
		groupARN[g.GroupName] = g.ARN
		s.Groups = append(s.Groups, schemas.IAMGroup{ARN: g.ARN, GroupName: g.GroupName, GroupID: g.GroupID, Path: g.Path,
			CreatedAt: g.CreateDate.UTC(), SnapshotAt: at, RunID: lin.RunID, SourceKey: lin.SourceKey})
		if err := addInline(g.ARN, "iam_group", g.GroupPolicyList); err != nil {
			return nil, err
		}
		addManaged(g.ARN, "iam_group", g.AttachedManagedPolicies)
	}
	for _, u := range all.UserDetailList {
		row := schemas.IAMUser{ARN: u.ARN, UserName: u.UserName, UserID: u.UserID, Path: u.Path, CreatedAt: u.CreateDate.UTC(),
			Tags: tagsJSON(u.Tags), SnapshotAt: at, RunID: lin.RunID, SourceKey: lin.SourceKey}
		if u.PermissionsBoundary != nil {
			row.PermissionsBoundaryARN = opt(u.PermissionsBoundary.PermissionsBoundaryARN)
		}
		s.Users = append(s.Users, row)
		for _, g := range u.GroupList {
			arn, ok := groupARN[g]
			if !ok {
				return nil, fmt.Errorf("user %s is in group %q, which GroupDetailList does not list", u.ARN, g)
			}
			s.Memberships = append(s.Memberships, schemas.IAMGroupMembership{UserARN: u.ARN, GroupName: g, GroupARN: arn,
				SnapshotAt: at, RunID: lin.RunID, SourceKey: lin.SourceKey})
		}
		if err := addInline(u.ARN, schemas.PrincipalIAMUser, u.UserPolicyList); err != nil {
			return nil, err
		}
		addManaged(u.ARN, schemas.PrincipalIAMUser, u.AttachedManagedPolicies)
	}
	for _, r := range all.RoleDetailList {
		row := schemas.IAMRole{ARN: r.ARN, RoleName: r.RoleName, RoleID: r.RoleID, Path: r.Path, CreatedAt: r.CreateDate.UTC(),
			IsServiceLinked: strings.HasPrefix(r.Path, "/aws-service-role/"),
			IsSSO:           strings.HasPrefix(r.Path, "/aws-reserved/sso.amazonaws.com/") || strings.HasPrefix(r.RoleName, "AWSReservedSSO_"),
			Tags:            tagsJSON(r.Tags), SnapshotAt: at, RunID: lin.RunID, SourceKey: lin.SourceKey}
		if r.AssumeRolePolicyDocument != "" {
			doc, err := DecodePolicyDocument(r.AssumeRolePolicyDocument)
			if err != nil {
				return nil, fmt.Errorf("role %s trust policy: %w", r.ARN, err)
			}
			row.AssumeRolePolicyDocument = &doc
		}
		if r.PermissionsBoundary != nil {
			row.PermissionsBoundaryARN = opt(r.PermissionsBoundary.PermissionsBoundaryARN)
		}
		if r.RoleLastUsed != nil && r.RoleLastUsed.LastUsedDate != nil && !r.RoleLastUsed.LastUsedDate.IsZero() {
			t := r.RoleLastUsed.LastUsedDate.UTC()
			row.RoleLastUsedAt, row.RoleLastUsedRegion = &t, opt(r.RoleLastUsed.Region)
		}
		s.Roles = append(s.Roles, row)
		if err := addInline(r.ARN, schemas.PrincipalIAMRole, r.RolePolicyList); err != nil {
			return nil, err
		}
		addManaged(r.ARN, schemas.PrincipalIAMRole, r.AttachedManagedPolicies)
	}
	for _, p := range all.Policies {
		row := schemas.IAMPolicy{ARN: p.ARN, PolicyName: p.PolicyName, PolicyID: p.PolicyID, Path: p.Path,
			IsAWSManaged:     strings.HasPrefix(p.ARN, "arn:aws:iam::aws:") || strings.Contains(p.ARN, ":iam::aws:policy/"),
			DefaultVersionID: p.DefaultVersionID, AttachmentCount: p.AttachmentCount, IsAttachable: p.IsAttachable,
			CreatedAt: p.CreateDate.UTC(), UpdatedAt: p.UpdateDate.UTC(), SnapshotAt: at, RunID: lin.RunID, SourceKey: lin.SourceKey}
		found := false
		for _, v := range p.PolicyVersionList {
			if v.VersionID != p.DefaultVersionID && !(p.DefaultVersionID == "" && v.IsDefaultVersion) {
				continue
			}
			doc, err := DecodePolicyDocument(v.Document)
			if err != nil {
				return nil, fmt.Errorf("policy %s version %s: %w", p.ARN, v.VersionID, err)
			}
			row.Document, found = doc, true
			sts, err := PolicyStatements(p.ARN, doc, stBase)
			if err != nil {
				return nil, err
			}
			s.Statements = append(s.Statements, sts...)
			break
		}
		if !found {
			return nil, fmt.Errorf("policy %s: default version %q is not in PolicyVersionList", p.ARN, p.DefaultVersionID)
		}
		s.Policies = append(s.Policies, row)
	}
	s.sort()
	return s, nil
}

func (s *IAMSnapshot) sort() {
	sort.Slice(s.Users, func(i, j int) bool { return s.Users[i].ARN < s.Users[j].ARN })
	sort.Slice(s.Groups, func(i, j int) bool { return s.Groups[i].ARN < s.Groups[j].ARN })
	sort.Slice(s.Roles, func(i, j int) bool { return s.Roles[i].ARN < s.Roles[j].ARN })
	sort.Slice(s.Policies, func(i, j int) bool { return s.Policies[i].ARN < s.Policies[j].ARN })
	sort.Slice(s.Memberships, func(i, j int) bool {
		a, b := s.Memberships[i], s.Memberships[j]
		return a.UserARN < b.UserARN || a.UserARN == b.UserARN && a.GroupARN < b.GroupARN
	})
	sort.Slice(s.Attachments, func(i, j int) bool {
		a, b := s.Attachments[i], s.Attachments[j]
		return a.PrincipalARN < b.PrincipalARN || a.PrincipalARN == b.PrincipalARN && a.PolicyKey < b.PolicyKey
	})
	sort.Slice(s.Statements, func(i, j int) bool {
		a, b := s.Statements[i], s.Statements[j]
		return a.PolicyKey < b.PolicyKey || a.PolicyKey == b.PolicyKey && a.StatementIndex < b.StatementIndex
	})
}

func tagsJSON(tags []tag) *string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	b, err := json.Marshal(m) // map keys are sorted: deterministic
	if err != nil {
		return nil
	}
	s := string(b)
	return &s
}

// CredentialReport parses the IAM credential report CSV. Columns are found by header name, so a
// report with extra or reordered columns still parses; a missing column is an error naming it.
// N/A, no_information and not_supported become NULL.
func CredentialReport(csvData []byte, meta SnapshotMeta) ([]schemas.IAMCredential, error) {
	r := csv.NewReader(bytes.NewReader(csvData))
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("credential report header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	for _, c := range []string{"user", "arn", "password_last_used", "access_key_1_last_used_date", "access_key_2_last_used_date"} {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("credential report has no %q column", c)
		}
	}
	var out []schemas.IAMCredential
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("credential report line %d: %w", line, err)
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		var perr error
		ts := func(name string) *time.Time {
			t, err := reportTime(get(name))
			if err != nil && perr == nil {
				perr = fmt.Errorf("credential report line %d column %s: %w", line, name, err)
			}
			return t
		}
		row := schemas.IAMCredential{
			User: get("user"), ARN: get("arn"),
			UserCreatedAt:         ts("user_creation_time"),
			IsPasswordEnabled:     reportBool(get("password_enabled")),
			PasswordLastUsedAt:    ts("password_last_used"),
			PasswordLastChangedAt: ts("password_last_changed"),
			IsMFAActive:           isTrue(get("mfa_active")),
			IsAccessKey1Active:    isTrue(get("access_key_1_active")),
			AccessKey1LastRotated: ts("access_key_1_last_rotated"),
			AccessKey1LastUsedAt:  ts("access_key_1_last_used_date"),
			AccessKey1LastService: naOpt(get("access_key_1_last_used_service")),
			IsAccessKey2Active:    isTrue(get("access_key_2_active")),
			AccessKey2LastRotated: ts("access_key_2_last_rotated"),
			AccessKey2LastUsedAt:  ts("access_key_2_last_used_date"),
			AccessKey2LastService: naOpt(get("access_key_2_last_used_service")),
			SnapshotAt:            meta.SnapshotAt.UTC(), RunID: meta.RunID, SourceKey: meta.SourceKey,
		}
		if perr != nil {
			return nil, perr
		}
		if row.ARN == "" {
			return nil, fmt.Errorf("credential report line %d: empty arn", line)
		}
		out = append(out, row)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ARN < out[j].ARN })
	return out, nil
}

func isNA(s string) bool {
	switch strings.ToLower(s) {
	case "", "n/a", "no_information", "not_supported":
		return true
	}
	return false
}

func naOpt(s string) *string {
	if isNA(s) {
		return nil
	}
	return &s
}

func reportTime(s string) (*time.Time, error) {
	if isNA(s) {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, err
	}
	t = t.UTC()
	return &t, nil
}

func reportBool(s string) *bool {
	if isNA(s) {
		return nil
	}
	v := isTrue(s)
	return &v
}

func isTrue(s string) bool { return strings.EqualFold(s, "true") }
