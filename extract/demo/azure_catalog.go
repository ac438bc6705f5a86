package demo

import "strings"

// The provider operations catalog: a realistic subset of what
// GET /providers/Microsoft.Authorization/providerOperations?$expand=resourceTypes returns
// (FORMATS.md §4.6) for seven providers. It holds every operation the demo's activity uses and
// what the demo's role patterns expand to within these providers; patterns naming other
// providers (Microsoft.Support/*, Microsoft.RecoveryServices/…) expand to nothing here. Names keep
// the catalog's own casing, which differs from the roles' in places (listkeys vs listKeys).

type armOperation struct {
	Name         string `json:"name"`
	DisplayName  string `json:"displayName"`
	Description  string `json:"description"`
	Origin       string `json:"origin"`
	Properties   any    `json:"properties"`
	IsDataAction bool   `json:"isDataAction"`
}

type armResourceType struct {
	Name        string         `json:"name"`
	DisplayName string         `json:"displayName"`
	Operations  []armOperation `json:"operations"`
}

type armProviderOperations struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Type          string            `json:"type"`
	DisplayName   string            `json:"displayName"`
	ResourceTypes []armResourceType `json:"resourceTypes"`
	Operations    []armOperation    `json:"operations"`
}

// azTypeSpec lists one resource type's operations: space-separated verbs (read, write, delete,
// x/action); a leading '!' marks a data action. An empty name holds provider-level operations.
type azTypeSpec struct{ name, display, ops string }

var azCatalogSpec = []struct {
	namespace, display string
	types              []azTypeSpec
}{
	{"Microsoft.Compute", "Microsoft Compute", []azTypeSpec{
		{"", "", "register/action unregister/action operations/read"},
		{"virtualMachines", "Virtual Machines", "read write delete start/action powerOff/action restart/action deallocate/action redeploy/action reimage/action " +
			"runCommand/action capture/action generalize/action performMaintenance/action convertToManagedDisks/action assessPatches/action installPatches/action " +
			"retrieveBootDiagnosticsData/action simulateEviction/action !login/action !loginAsAdmin/action"},
		{"virtualMachines/extensions", "Virtual Machine Extensions", "read write delete"},
		{"virtualMachines/instanceView", "Virtual Machine Instance View", "read"},
		{"virtualMachines/vmSizes", "Virtual Machine Size", "read"},
		{"virtualMachines/runCommands", "Virtual Machine Run Commands", "read write delete"},
		{"virtualMachineScaleSets", "Virtual Machine Scale Sets", "read write delete start/action powerOff/action restart/action deallocate/action"},
		{"disks", "Disks", "read write delete beginGetAccess/action endGetAccess/action"},
		{"snapshots", "Snapshots", "read write delete beginGetAccess/action endGetAccess/action"},
		{"images", "Images", "read write delete"},
		{"availabilitySets", "Availability Sets", "read write delete"},
		{"availabilitySets/vmSizes", "Virtual Machine Size for Availability set", "read"},
		{"locations/vmSizes", "Virtual Machine Sizes", "read"},
		{"locations/usages", "Usage Metrics", "read"},
		{"locations/operations", "Operation", "read"},
		{"galleries", "Gallery", "read write delete share/action"},
	}},
	{"Microsoft.Storage", "Microsoft Storage", []azTypeSpec{
		{"", "", "register/action checknameavailability/read operations/read"},
		{"storageAccounts", "Storage Accounts", "read write delete listkeys/action regeneratekey/action listAccountSas/action listServiceSas/action failover/action restoreBlobRanges/action"},
		{"storageAccounts/blobServices", "Blob Service", "read write generateUserDelegationKey/action"},
		{"storageAccounts/blobServices/containers", "Blob Container", "read write delete lease/action setLegalHold/action clearLegalHold/action"},
		{"storageAccounts/blobServices/containers/blobs", "Blob", "!read !write !delete !add/action !move/action !filter/action !tags/read !tags/write " +
			"!deleteBlobVersion/action !runAsSuperUser/action !manageOwnership/action !modifyPermissions/action"},
		{"storageAccounts/fileServices", "File Service", "read write"},
		{"storageAccounts/fileServices/shares", "File Share", "read write delete"},
		{"storageAccounts/queueServices", "Queue Service", "read write"},
		{"storageAccounts/queueServices/queues", "Queue", "read write delete"},
		{"storageAccounts/queueServices/queues/messages", "Queue Message", "!read !write !delete !add/action !process/action"},
		{"storageAccounts/tableServices/tables", "Table", "read write delete"},
		{"storageAccounts/managementPolicies", "Storage Account Management Policies", "read write delete"},
		{"locations/usages", "Usage Metrics", "read"},
	}},
	{"Microsoft.Network", "Microsoft Network", []azTypeSpec{
		{"", "", "register/action unregister/action"},
		{"virtualNetworks", "Virtual Network", "read write delete peer/action join/action"},
		{"virtualNetworks/subnets", "Virtual Network Subnet", "read write delete join/action joinViaServiceEndpoint/action"},
		{"virtualNetworks/virtualNetworkPeerings", "Virtual Network Peering", "read write delete"},
		{"networkSecurityGroups", "Network Security Group", "read write delete join/action"},
		{"networkSecurityGroups/securityRules", "Security Rule", "read write delete"},
		{"networkInterfaces", "Network Interface", "read write delete join/action effectiveRouteTable/action effectiveNetworkSecurityGroups/action"},
		{"publicIPAddresses", "Public Ip Address", "read write delete join/action"},
		{"loadBalancers", "Load Balancer", "read write delete"},
		{"loadBalancers/backendAddressPools", "Load Balancer Backend Address Pool", "read write delete join/action"},
		{"loadBalancers/inboundNatPools", "Load Balancer Inbound Nat Pool", "read join/action"},
		{"loadBalancers/inboundNatRules", "Load Balancer Inbound Nat Rule", "read write delete join/action"},
		{"loadBalancers/probes", "Load Balancer Probe", "read join/action"},
		{"applicationGateways", "Application Gateway", "read write delete start/action stop/action"},
		{"applicationGateways/backendAddressPools", "Application Gateway Backend Address Pool", "join/action"},
		{"routeTables", "Route Table", "read write delete join/action"},
		{"locations/operations", "Operation", "read"},
		{"locations/usages", "Usage Metric", "read"},
	}},
	{"Microsoft.KeyVault", "Microsoft Key Vault", []azTypeSpec{
		{"", "", "register/action unregister/action checkNameAvailability/read operations/read"},
		{"vaults", "Key Vault", "read write delete deploy/action"},
		{"vaults/accessPolicies", "Policy", "write"},
		{"vaults/secrets", "Secret", "read write !getSecret/action !readMetadata/action !setSecret/action !delete"},
		{"vaults/keys", "Key", "read write !encrypt/action !decrypt/action !sign/action !verify/action !wrap/action !unwrap/action"},
		{"deletedVaults", "Soft Deleted Vault", "read"},
		{"locations/deletedVaults", "Soft Deleted Vault", "read purge/action"},
		{"locations/operationResults", "Long Operation Result", "read"},
	}},
	{"Microsoft.Authorization", "Microsoft Authorization", []azTypeSpec{
		{"", "", "elevateAccess/action"},
		{"roleAssignments", "Role Assignment", "read write delete"},
		{"roleDefinitions", "Role Definition", "read write delete"},
		{"denyAssignments", "Deny Assignment", "read write delete"},
		{"locks", "Management locks", "read write delete"},
		{"policyAssignments", "Policy Assignment", "read write delete"},
		{"policyDefinitions", "Policy Definition", "read write delete"},
		{"classicAdministrators", "Classic Administrators", "read write delete"},
		{"permissions", "Permissions", "read"},
		{"providerOperations", "Provider Operations", "read"},
		{"operations", "Operations", "read"},
		{"roleManagementPolicies", "Role management policies", "read write"},
	}},
	{"Microsoft.Resources", "Microsoft Resources", []azTypeSpec{
		{"", "", "checkResourceName/action calculateTemplateHash/action"},
		{"subscriptions", "Subscription", "read"},
		{"subscriptions/resourceGroups", "Resource Group", "read write delete moveResources/action validateMoveResources/action"},
		{"subscriptions/resourceGroups/resources", "Resource Group Resources", "read"},
		{"subscriptions/resources", "Subscription Resources", "read"},
		{"subscriptions/locations", "Locations", "read"},
		{"subscriptions/operationresults", "Subscription Operation Results", "read"},
		{"subscriptions/resourcegroups/deployments", "Resource Group Deployments", "read write"},
		{"subscriptions/resourcegroups/deployments/operations", "Resource Group Deployment Operations", "read"},
		{"deployments", "Deployment", "read write delete cancel/action validate/action whatIf/action exportTemplate/action"},
		{"deployments/operations", "Deployment Operations", "read"},
		{"deployments/operationstatuses", "Deployment Operation Statuses", "read"},
		{"deploymentStacks", "Deployment Stacks", "read write delete manageDenySetting/action"},
		{"tags", "Tags", "read write delete"},
		{"tenants", "Tenants", "read"},
		{"resources", "Resources", "read"},
	}},
	{"Microsoft.Web", "Microsoft Web Apps", []azTypeSpec{
		{"", "", "register/action unregister/action"},
		{"sites", "Web App", "read write delete restart/action start/action stop/action slotsswap/action publishxml/action applySlotConfig/action"},
		{"sites/config", "Web App Configuration", "read write list/action"},
		{"sites/slots", "Web App Slot", "read write delete restart/action start/action stop/action"},
		{"sites/functions", "Function", "read write delete"},
		{"serverfarms", "App Service Plan", "read write delete restartSites/action"},
		{"certificates", "Certificate", "read write delete"},
	}},
}

// azureCatalog renders the catalog in the providerOperations list wire format.
func azureCatalog() []armProviderOperations {
	var out []armProviderOperations
	for _, p := range azCatalogSpec {
		po := armProviderOperations{ID: "/providers/Microsoft.Authorization/providerOperations/" + p.namespace, Name: p.namespace,
			Type: "Microsoft.Authorization/providerOperations", DisplayName: p.display, ResourceTypes: []armResourceType{}, Operations: []armOperation{}}
		for _, t := range p.types {
			var ops []armOperation
			for _, v := range strings.Fields(t.ops) {
				data := strings.HasPrefix(v, "!")
				v = strings.TrimPrefix(v, "!")
				name := p.namespace + "/" + v
				if t.name != "" {
					name = p.namespace + "/" + t.name + "/" + v
				}
				what := t.display
				if what == "" {
					what = p.display
				}
				disp := operationDisplay(v, what)
				origin := "user,system"
				if data {
					origin = "user"
				}
				ops = append(ops, armOperation{Name: name, DisplayName: disp, Description: disp + ".", Origin: origin, IsDataAction: data})
			}
			if t.name == "" {
				po.Operations = append(po.Operations, ops...)
				continue
			}
			po.ResourceTypes = append(po.ResourceTypes, armResourceType{Name: t.name, DisplayName: t.display, Operations: ops})
		}
		out = append(out, po)
	}
	return out
}

// operationDisplay is a display name in the catalog's style: "Get Virtual Machines",
// "Restart Virtual Machines".
func operationDisplay(verb, what string) string {
	switch verb {
	case "read":
		return "Get " + what
	case "write":
		return "Create or Update " + what
	case "delete":
		return "Delete " + what
	}
	v := strings.TrimSuffix(verb, "/action")
	v = strings.ReplaceAll(v, "/", " ")
	if v != "" {
		v = strings.ToUpper(v[:1]) + v[1:]
	}
	return v + " " + what
}
