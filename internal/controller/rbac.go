// Package controller holds the reconcilers of Space, SpaceInvite and
// ServiceAccountUserSet, and of the ClusterSpacesAccounts they may use.
package controller

// The permissions the manager needs, in one place; controller-gen turns them
// into config/rbac/role.yaml. Secrets: credentials are read and carry the
// in-use finalizer; ServiceAccountUserSet writes generated passwords.
//
// +kubebuilder:rbac:groups=spaces.avayacloud.com,resources=spaces;spaceinvites;serviceaccountusersets,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=spaces.avayacloud.com,resources=spaces/status;spaceinvites/status;serviceaccountusersets/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=spaces.avayacloud.com,resources=spaces/finalizers;spaceinvites/finalizers;serviceaccountusersets/finalizers,verbs=update
// +kubebuilder:rbac:groups=spaces.avayacloud.com,resources=clusterspacesaccounts,verbs=get;list;watch
// +kubebuilder:rbac:groups=spaces.avayacloud.com,resources=clusterspacesaccounts/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
