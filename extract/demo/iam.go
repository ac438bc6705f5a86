package demo

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Policy documents of the demo. AWS managed ones are trimmed-down but real-shaped statements.
const (
	docAdmin     = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	docViewOnly  = `{"Version":"2012-10-17","Statement":[{"Sid":"ViewOnly","Effect":"Allow","Action":["ec2:Describe*","s3:ListAllMyBuckets","s3:GetBucketLocation","iam:List*","iam:Get*","cloudwatch:Describe*","cloudwatch:Get*","lambda:List*","dynamodb:ListTables","dynamodb:DescribeTable","kms:List*","cloudtrail:DescribeTrails","logs:Describe*"],"Resource":"*"}]}`
	docPowerUser = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],"Resource":"*"},` +
		`{"Effect":"Allow","Action":["iam:CreateServiceLinkedRole","iam:DeleteServiceLinkedRole","iam:ListRoles","organizations:DescribeOrganization","account:ListRegions"],"Resource":"*"}]}`
	docDeveloperV1 = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	docDeveloperV2 = `{"Version":"2012-10-17","Statement":[{"Sid":"Build","Effect":"Allow","Action":["ec2:Describe*","s3:Get*","s3:List*","lambda:*"],"Resource":"*"},` +
		`{"Sid":"NoIAM","Effect":"Deny","Action":"iam:*","Resource":"*"}]}`
	docProcessor = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["lambda:GetFunction","lambda:ListFunctions","logs:CreateLogStream","logs:PutLogEvents","sqs:ReceiveMessage","sqs:DeleteMessage","sqs:GetQueueAttributes"],"Resource":"*"}]}`
	docDeploy    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:*","s3:Get*","s3:List*","cloudformation:*"],"Resource":"*"},` +
		`{"Sid":"OnlyThese","Effect":"Deny","NotAction":["ec2:*","s3:*","cloudformation:*","sts:GetCallerIdentity"],"Resource":"*"}]}`
	docDevLogs   = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"logs:*","Resource":"*"}}`
	docAppInline = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cloudwatch:PutMetricData","Resource":"*"},` +
		`{"Effect":"Allow","Action":["dynamodb:DescribeTable","dynamodb:GetItem","dynamodb:PutItem"],"Resource":"arn:aws:dynamodb:*:*:table/orders"},` +
		`{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"ssm.us-east-1.amazonaws.com"}}},` +
		`{"Effect":"Allow","Action":["ssm:GetParameter*"],"Resource":"*"},{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::orders-data/*"}]}`
	docCIInline = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","kms:Decrypt","kms:Encrypt"],"Resource":"*"},` +
		`{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::*:role/cross-account-deploy"}]}`
	docAliceInline = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::*:role/cross-account-deploy"},` +
		`{"Effect":"Allow","Action":"ec2:RunInstances","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}}]}`
	docCIBoundary    = `{"Version":"2012-10-17","Statement":[{"Sid":"Ceiling","Effect":"Allow","Action":["s3:*","kms:Decrypt","sts:AssumeRole","ec2:Describe*"],"Resource":"*"}]}`
	docSupportLinked = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["support:*","trustedadvisor:Describe*"],"Resource":"*"}]}`
)

func trustService(svc string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + svc + `"},"Action":"sts:AssumeRole"}]}`
}

func trustAccount(acct string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"permlake-demo"}}}]}`
}

const trustSAML = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:saml-provider/AWSSSO"},"Action":["sts:AssumeRoleWithSAML","sts:TagSession"]}]}`

type managedPolicy struct {
	name, path string
	aws        bool
	versions   []string // the last one is the default version
}

func (p managedPolicy) arn(acct string) string {
	if p.aws {
		return "arn:aws:iam::aws:policy" + p.path + p.name
	}
	return "arn:aws:iam::" + acct + ":policy" + p.path + p.name
}

var managedPolicies = map[string]managedPolicy{
	"AdministratorAccess": {name: "AdministratorAccess", path: "/", aws: true, versions: []string{docAdmin}},
	"ViewOnlyAccess":      {name: "ViewOnlyAccess", path: "/job-function/", aws: true, versions: []string{docViewOnly}},
	"PowerUserAccess":     {name: "PowerUserAccess", path: "/", aws: true, versions: []string{docPowerUser}},
	"AWSSupportServiceRolePolicy": {name: "AWSSupportServiceRolePolicy", path: "/aws-service-role/", aws: true,
		versions: []string{docSupportLinked}},
	"DeveloperAccess": {name: "DeveloperAccess", path: "/", versions: []string{docDeveloperV1, docDeveloperV2}},
	"ProcessorPolicy": {name: "ProcessorPolicy", path: "/app/", versions: []string{docProcessor}},
	"DeployAccess":    {name: "DeployAccess", path: "/", versions: []string{docDeploy}},
	"CIBoundary":      {name: "CIBoundary", path: "/boundaries/", versions: []string{docCIBoundary}},
}

type group struct {
	name    string
	managed []string
	inline  map[string]string
}

type user struct {
	name, path string
	groups     []string
	managed    []string
	inline     map[string]string
}

type role struct {
	name, path    string
	trust         string
	managed       []string
	inline        map[string]string
	serviceLinked bool
	boundary      string // managed policy name of the permissions boundary, if any
}

// accountIAM is one account's identities.
type accountIAM struct {
	acct   Account
	groups []group
	users  []user
	roles  []role
}

const ssoSuffixAdmin, ssoSuffixReadOnly = "7c1f3a9e5b2d4f60", "0e9d8c7b6a5f4e3d"

func buildIAM(a Account, mgmt string) accountIAM {
	iam := accountIAM{acct: a}
	iam.groups = []group{
		{name: "admins", managed: []string{"AdministratorAccess"}},
		{name: "developers", managed: []string{"DeveloperAccess"}, inline: map[string]string{"dev-logs": docDevLogs}},
		{name: "readonly", managed: []string{"ViewOnlyAccess"}},
	}
	iam.users = []user{
		{name: "alice", path: "/engineering/", groups: []string{"developers"}, inline: map[string]string{"alice-extra": docAliceInline}},
		{name: "bob", path: "/", groups: []string{"admins"}},
		{name: "carol", path: "/", groups: []string{"developers"}},
		{name: "dave", path: "/", groups: []string{"readonly"}},
		{name: "erin", path: "/", groups: []string{"developers", "readonly"}},
		{name: "frank", path: "/", groups: []string{"readonly"}},
	}
	iam.roles = []role{
		{name: "app-server", path: "/service/", trust: trustService("ec2.amazonaws.com"), inline: map[string]string{"app-server-access": docAppInline}},
		{name: "lambda-processor", path: "/service/", trust: trustService("lambda.amazonaws.com"), managed: []string{"ProcessorPolicy"}},
		{name: "AWSServiceRoleForSupport", path: "/aws-service-role/support.amazonaws.com/", trust: trustService("support.amazonaws.com"),
			managed: []string{"AWSSupportServiceRolePolicy"}, serviceLinked: true},
		{name: "AWSReservedSSO_AdministratorAccess_" + ssoSuffixAdmin, path: "/aws-reserved/sso.amazonaws.com/", trust: trustSAML, managed: []string{"AdministratorAccess"}},
		{name: "AWSReservedSSO_ReadOnly_" + ssoSuffixReadOnly, path: "/aws-reserved/sso.amazonaws.com/", trust: trustSAML, managed: []string{"ViewOnlyAccess"}},
		{name: "platform-admin", path: "/", trust: trustAccount(a.ID), managed: []string{"PowerUserAccess"}},
		{name: "ci-deploy", path: "/", trust: trustService("codebuild.amazonaws.com"), inline: map[string]string{"ci-deploy-access": docCIInline},
			boundary: "CIBoundary"},
		{name: "cross-account-deploy", path: "/", trust: trustAccount(mgmt), managed: []string{"DeployAccess"}},
		{name: "legacy-batch", path: "/", trust: trustService("ec2.amazonaws.com"), managed: []string{"PowerUserAccess"}},
		{name: "reporting", path: "/", trust: trustAccount(a.ID), managed: []string{"ViewOnlyAccess"}},
	}
	return iam
}

func (u user) arn(acct string) string  { return "arn:aws:iam::" + acct + ":user" + u.path + u.name }
func (r role) arn(acct string) string  { return "arn:aws:iam::" + acct + ":role" + r.path + r.name }
func (g group) arn(acct string) string { return "arn:aws:iam::" + acct + ":group/" + g.name }
func rootARN(acct string) string       { return "arn:aws:iam::" + acct + ":root" }

// encodeDoc URL-encodes a policy document the way the IAM API returns it (RFC 3986 percent
// encoding of the JSON text).
func encodeDoc(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}

// stableID derives an IAM unique ID (AIDA…, AROA…) from a name: deterministic, realistic shape.
func stableID(prefix, seed string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	h := uint64(14695981039346656037)
	for i := 0; i < len(seed); i++ {
		h ^= uint64(seed[i])
		h *= 1099511628211
	}
	b := make([]byte, 17)
	for i := range b {
		b[i] = alphabet[h%32]
		h = h*6364136223846793005 + 1442695040888963407
	}
	return prefix + string(b)
}

type jsonPolicy struct {
	PolicyName     string `json:"PolicyName"`
	PolicyDocument string `json:"PolicyDocument"`
}

type jsonAttached struct {
	PolicyName string `json:"PolicyName"`
	PolicyArn  string `json:"PolicyArn"`
}

func inlineList(m map[string]string) []jsonPolicy {
	out := []jsonPolicy{}
	for _, name := range sortedKeys(m) {
		out = append(out, jsonPolicy{PolicyName: name, PolicyDocument: encodeDoc(m[name])})
	}
	return out
}

func attachedList(names []string, acct string) []jsonAttached {
	out := []jsonAttached{}
	for _, n := range names {
		p := managedPolicies[n]
		out = append(out, jsonAttached{PolicyName: p.name, PolicyArn: p.arn(acct)})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// gaadPages renders the account's GetAccountAuthorizationDetails response as two pages: users and
// groups first (IsTruncated, Marker), then roles and policies, as the API may split them.
func (iam accountIAM) gaadPages(created time.Time, roleLastUsed map[string]lastUse) ([][]byte, error) {
	acct := iam.acct.ID
	var users, groups, roles, policies []map[string]any
	for _, g := range iam.groups {
		groups = append(groups, map[string]any{
			"Path": "/", "GroupName": g.name, "GroupId": stableID("AGPA", acct+g.name), "Arn": g.arn(acct), "CreateDate": ts(created),
			"GroupPolicyList": inlineList(g.inline), "AttachedManagedPolicies": attachedList(g.managed, acct),
		})
	}
	for _, u := range iam.users {
		users = append(users, map[string]any{
			"Path": u.path, "UserName": u.name, "UserId": stableID("AIDA", acct+u.name), "Arn": u.arn(acct), "CreateDate": ts(created),
			"UserPolicyList": inlineList(u.inline), "GroupList": u.groups, "AttachedManagedPolicies": attachedList(u.managed, acct),
			"Tags": []map[string]string{{"Key": "team", "Value": strings.Trim(u.path, "/") + "platform"}},
		})
	}
	used := map[string]bool{}
	for _, r := range iam.roles {
		m := map[string]any{
			"Path": r.path, "RoleName": r.name, "RoleId": stableID("AROA", acct+r.name), "Arn": r.arn(acct), "CreateDate": ts(created),
			"AssumeRolePolicyDocument": encodeDoc(r.trust), "InstanceProfileList": []any{}, "RolePolicyList": inlineList(r.inline),
			"AttachedManagedPolicies": attachedList(r.managed, acct), "Tags": []any{}, "RoleLastUsed": map[string]any{},
		}
		if r.boundary != "" {
			m["PermissionsBoundary"] = map[string]string{"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": managedPolicies[r.boundary].arn(acct)}
			used[r.boundary] = true
		}
		if lu, ok := roleLastUsed[r.arn(acct)]; ok {
			m["RoleLastUsed"] = map[string]any{"LastUsedDate": ts(lu.at), "Region": lu.region}
		}
		roles = append(roles, m)
		for _, n := range r.managed {
			used[n] = true
		}
	}
	for _, g := range iam.groups {
		for _, n := range g.managed {
			used[n] = true
		}
	}
	for _, name := range sortedKeys(used) {
		p := managedPolicies[name]
		var versions []map[string]any
		for i, doc := range p.versions {
			versions = append(versions, map[string]any{"Document": encodeDoc(doc), "VersionId": fmt.Sprintf("v%d", i+1),
				"IsDefaultVersion": i == len(p.versions)-1, "CreateDate": ts(created.Add(time.Duration(i) * 24 * time.Hour))})
		}
		policies = append(policies, map[string]any{
			"PolicyName": p.name, "PolicyId": stableID("ANPA", p.arn(acct)), "Arn": p.arn(acct), "Path": p.path,
			"DefaultVersionId": fmt.Sprintf("v%d", len(p.versions)), "AttachmentCount": 1, "PermissionsBoundaryUsageCount": 0,
			"IsAttachable": true, "CreateDate": ts(created), "UpdateDate": ts(created.Add(time.Duration(len(p.versions)-1) * 24 * time.Hour)),
			"PolicyVersionList": versions,
		})
	}
	page1 := map[string]any{"UserDetailList": users, "GroupDetailList": groups, "RoleDetailList": []any{}, "Policies": []any{},
		"IsTruncated": true, "Marker": "demo-marker-" + acct}
	page2 := map[string]any{"UserDetailList": []any{}, "GroupDetailList": []any{}, "RoleDetailList": roles, "Policies": policies,
		"IsTruncated": false}
	var out [][]byte
	for _, p := range []map[string]any{page1, page2} {
		b, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			return nil, err
		}
		out = append(out, append(b, '\n'))
	}
	return out, nil
}

type lastUse struct {
	at     time.Time
	region string
}

// credentialReport renders the 22-column report (FORMATS.md §3.2) consistent with the activity.
func (iam accountIAM) credentialReport(created, generated time.Time, password, keys map[string]time.Time, consoleUsers map[string]bool) []byte {
	acct := iam.acct.ID
	var b strings.Builder
	b.WriteString("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n")
	iso := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }
	or := func(t time.Time, ok bool, none string) string {
		if !ok {
			return none
		}
		return iso(t)
	}
	root := rootARN(acct)
	rp, ok := password[root]
	fmt.Fprintf(&b, "<root_account>,%s,%s,not_supported,%s,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
		root, iso(created), or(rp, ok, "no_information"))
	for _, u := range iam.users {
		arn := u.arn(acct)
		pw, hasPw := password[arn]
		console := consoleUsers[arn] || hasPw
		pwEnabled, pwUsed, pwChanged := "false", "N/A", "N/A"
		if console {
			pwEnabled, pwUsed, pwChanged = "true", or(pw, hasPw, "no_information"), iso(created)
		}
		k, hasKey := keys[arn]
		keyUsed, keyRegion, keySvc := "N/A", "N/A", "N/A"
		if hasKey {
			keyUsed, keyRegion, keySvc = iso(k), "us-east-1", "iam"
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s,N/A,false,true,%s,%s,%s,%s,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
			u.name, arn, iso(created), pwEnabled, pwUsed, pwChanged, iso(created), keyUsed, keyRegion, keySvc)
	}
	_ = generated
	return []byte(b.String())
}
