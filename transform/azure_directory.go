package transform

import (
	"fmt"
	"sort"
	"strings"

	json "github.com/goccy/go-json"

	"github.com/permlake/permlake/schemas"
)

// DirectoryInput is one tenant's Microsoft Graph directory read, each object in Graph's wire
// format (one element of a list response's "value").
type DirectoryInput struct {
	Users             [][]byte // user objects, with signInActivity when it could be selected
	Groups            [][]byte // group objects
	ServicePrincipals [][]byte // servicePrincipal objects (managed identities included)
	// Members maps a group's object ID to its /groups/{id}/transitiveMembers objects, each with
	// its "@odata.type" ("#microsoft.graph.user", "#microsoft.graph.group",
	// "#microsoft.graph.servicePrincipal", …).
	Members map[string][][]byte
	// SignInActivityUnavailable is set when Graph could not return signInActivity (no Entra ID
	// P1/P2 licence, or no AuditLog.Read.All): every last sign-in is then unknown, not never.
	SignInActivityUnavailable bool
}

// AzureDirectorySnapshot holds the rows of one tenant's directory snapshot.
type AzureDirectorySnapshot struct {
	Principals   []schemas.AzurePrincipal   // azure_principals, sorted by principal_id
	GroupMembers []schemas.AzureGroupMember // azure_group_members, sorted by group_id, member_id
}

// azGraphObject is the union of the user, group and servicePrincipal fields read
// (https://learn.microsoft.com/graph/api/resources/user, …/group, …/serviceprincipal).
type azGraphObject struct {
	ODataType            string `json:"@odata.type"`
	ID                   string `json:"id"`
	DisplayName          string `json:"displayName"`
	UserPrincipalName    string `json:"userPrincipalName"`
	AppID                string `json:"appId"`
	ServicePrincipalType string `json:"servicePrincipalType"`
	AccountEnabled       *bool  `json:"accountEnabled"`
	CreatedDateTime      string `json:"createdDateTime"`
	SignInActivity       *struct {
		LastSignInDateTime               string `json:"lastSignInDateTime"`
		LastNonInteractiveSignInDateTime string `json:"lastNonInteractiveSignInDateTime"`
		LastSuccessfulSignInDateTime     string `json:"lastSuccessfulSignInDateTime"`
	} `json:"signInActivity"`
}

// AzureDirectory turns a tenant's Graph objects into azure_principals and azure_group_members
// rows. A service principal whose servicePrincipalType is ManagedIdentity is a managed_identity.
// Only users have sign-in activity in Graph's user resource (FORMATS.md §4.7):
// has_sign_in_activity is true for users when the tenant returned it (a user without
// signInActivity then never signed in) and false for everyone else, and for everyone when
// in.SignInActivityUnavailable (their last-sign-in columns are then NULL). Objects are deduped
// by ID, the first kept (Graph pages can overlap when the directory changes during a read).
//
// Group members are typed from their @odata.type; a member service principal is a
// managed_identity when the ServicePrincipals list says so. Devices and organisational contacts
// can be group members but never use an Azure role, so they are not rows. An object or member
// without a GUID id, or a member of no known type, is an error naming it.
func AzureDirectory(in DirectoryInput, meta SnapshotMeta) (*AzureDirectorySnapshot, error) {
	at := meta.SnapshotAt.UTC()
	snap := &AzureDirectorySnapshot{}
	typeOf := map[string]string{} // principal ID → principal type
	add := func(kind string, i int, b []byte) error {
		var o azGraphObject
		if err := json.Unmarshal(b, &o); err != nil {
			return fmt.Errorf("graph %s %d: %w", kind, i+1, err)
		}
		what := fmt.Sprintf("graph %s %d (%s)", kind, i+1, azObjectName(o.ID, o.DisplayName))
		id, ok := azGUID(o.ID)
		if !ok {
			return fmt.Errorf("%s: id %q is not a GUID", what, o.ID)
		}
		created, err := azOptTime(o.CreatedDateTime)
		if err != nil {
			return fmt.Errorf("%s: createdDateTime: %w", what, err)
		}
		row := schemas.AzurePrincipal{
			PrincipalID: id, PrincipalType: kind, DisplayName: opt(o.DisplayName), IsEnabled: o.AccountEnabled,
			CreatedAt: created, SnapshotAt: at, RunID: meta.RunID, SourceKey: meta.SourceKey,
		}
		switch kind {
		case schemas.AzureUser:
			row.UserPrincipalName = opt(o.UserPrincipalName)
			if !in.SignInActivityUnavailable {
				row.HasSignInActivity = true
				if s := o.SignInActivity; s != nil {
					if row.LastSignInAt, err = azOptTime(s.LastSignInDateTime); err != nil {
						return fmt.Errorf("%s: lastSignInDateTime: %w", what, err)
					}
					if row.LastNonInteractiveSignInAt, err = azOptTime(s.LastNonInteractiveSignInDateTime); err != nil {
						return fmt.Errorf("%s: lastNonInteractiveSignInDateTime: %w", what, err)
					}
					if row.LastSuccessfulSignInAt, err = azOptTime(s.LastSuccessfulSignInDateTime); err != nil {
						return fmt.Errorf("%s: lastSuccessfulSignInDateTime: %w", what, err)
					}
				}
			}
		case schemas.AzureServicePrincipal:
			row.AppID = azOptGUID(o.AppID)
			if strings.EqualFold(o.ServicePrincipalType, "ManagedIdentity") {
				row.PrincipalType = schemas.AzureManagedIdentity
			}
		}
		if _, dup := typeOf[id]; dup {
			return nil
		}
		typeOf[id] = row.PrincipalType
		snap.Principals = append(snap.Principals, row)
		return nil
	}
	for _, set := range []struct {
		kind    string
		objects [][]byte
	}{
		{schemas.AzureUser, in.Users},
		{schemas.AzureGroup, in.Groups},
		{schemas.AzureServicePrincipal, in.ServicePrincipals},
	} {
		for i, b := range set.objects {
			if err := add(set.kind, i, b); err != nil {
				return nil, err
			}
		}
	}

	type pair struct{ group, member string }
	seen := map[pair]bool{}
	for groupKey, members := range in.Members {
		group, ok := azGUID(groupKey)
		if !ok {
			return nil, fmt.Errorf("transitive members of group %q: group id is not a GUID", groupKey)
		}
		for i, b := range members {
			var m azGraphObject
			if err := json.Unmarshal(b, &m); err != nil {
				return nil, fmt.Errorf("group %s member %d: %w", group, i+1, err)
			}
			id, ok := azGUID(m.ID)
			if !ok {
				return nil, fmt.Errorf("group %s member %d: id %q is not a GUID", group, i+1, m.ID)
			}
			typ, known := azMemberType(m, id, typeOf)
			if !known {
				return nil, fmt.Errorf("group %s member %s: unknown @odata.type %q", group, id, m.ODataType)
			}
			if typ == "" || seen[pair{group, id}] {
				continue
			}
			seen[pair{group, id}] = true
			snap.GroupMembers = append(snap.GroupMembers, schemas.AzureGroupMember{
				GroupID: group, MemberID: id, MemberType: typ, SnapshotAt: at, RunID: meta.RunID, SourceKey: meta.SourceKey,
			})
		}
	}
	sort.Slice(snap.Principals, func(i, j int) bool { return snap.Principals[i].PrincipalID < snap.Principals[j].PrincipalID })
	sort.Slice(snap.GroupMembers, func(i, j int) bool {
		a, b := snap.GroupMembers[i], snap.GroupMembers[j]
		return a.GroupID < b.GroupID || a.GroupID == b.GroupID && a.MemberID < b.MemberID
	})
	return snap, nil
}

// azMemberType types a transitive member (its normalised id given) from its @odata.type,
// compared case-insensitively. It returns "" with known true for directory objects that are not
// principals (devices, contacts), and known false for a type it cannot place. A service principal
// is a managed identity when the snapshot's service principals say so, or, for one the snapshot
// lacks, when the member object itself carries servicePrincipalType. A member without
// @odata.type takes the type of the principal with its ID, when the snapshot has one.
func azMemberType(m azGraphObject, id string, typeOf map[string]string) (typ string, known bool) {
	switch strings.ToLower(strings.TrimPrefix(m.ODataType, "#")) {
	case "microsoft.graph.user":
		return schemas.AzureUser, true
	case "microsoft.graph.group":
		return schemas.AzureGroup, true
	case "microsoft.graph.serviceprincipal":
		if t, ok := typeOf[id]; ok {
			return t, true
		}
		if strings.EqualFold(m.ServicePrincipalType, "ManagedIdentity") {
			return schemas.AzureManagedIdentity, true
		}
		return schemas.AzureServicePrincipal, true
	case "microsoft.graph.device", "microsoft.graph.orgcontact":
		return "", true
	case "":
		t, ok := typeOf[id]
		return t, ok
	}
	return "", false
}
