//! The project's public address: an Ingress `<ref>.<base domain>` to its
//! gateway, with TLS as the operator is configured.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use kube::api::ObjectMeta;
use supaplane_crds::Project;

use super::{child_metadata, gateway, storage};

pub const NAME: &str = "gateway";
/// The Secret cert-manager writes the project's certificate into.
pub const TLS_SECRET: &str = "gateway-tls";
const CERT_MANAGER_ISSUER_ANNOTATION: &str = "cert-manager.io/cluster-issuer";

/// How projects are exposed; from the operator's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngressSettings {
    /// Projects answer at `<ref>.<base_domain>`.
    pub base_domain: String,
    /// The IngressClass; the cluster default when absent.
    pub class_name: Option<String>,
    /// Serve HTTPS (API URLs become `https://`).
    pub tls: bool,
    /// A cert-manager ClusterIssuer that issues each project's certificate.
    /// Without one, TLS uses the ingress controller's default certificate.
    pub cluster_issuer: Option<String>,
}

impl Default for IngressSettings {
    fn default() -> Self {
        IngressSettings {
            base_domain: "supaplane.localhost".to_string(),
            class_name: None,
            tls: false,
            cluster_issuer: None,
        }
    }
}

impl IngressSettings {
    pub fn host(&self, project_ref: &str) -> String {
        format!("{project_ref}.{}", self.base_domain)
    }

    /// The URL clients use for the project's API.
    pub fn api_url(&self, project_ref: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.host(project_ref))
    }
}

/// ingress-nginx refuses request bodies over 1 MiB unless told otherwise.
pub const NGINX_BODY_SIZE_ANNOTATION: &str = "nginx.ingress.kubernetes.io/proxy-body-size";

/// The largest request body the Ingress passes: Storage's upload limit,
/// rounded up to whole MiB, plus 1 MiB for multipart framing and headers
/// (resumable uploads send smaller chunks).
pub fn request_body_limit(project: &Project) -> String {
    const MIB: i64 = 1024 * 1024;
    let limit = storage::file_size_limit_bytes(project).max(0);
    format!("{}m", (limit + MIB - 1) / MIB + 1)
}

/// The Ingress; none when the project has no gateway to route to.
pub fn render(project: &Project, settings: &IngressSettings) -> Option<Ingress> {
    if !project.spec.components.gateway.enabled {
        return None;
    }
    let project_ref = project.metadata.name.clone().unwrap_or_default();
    let host = settings.host(&project_ref);
    let mut annotations = BTreeMap::from([(
        NGINX_BODY_SIZE_ANNOTATION.to_string(),
        request_body_limit(project),
    )]);
    if let Some(issuer) = &settings.cluster_issuer {
        annotations.insert(CERT_MANAGER_ISSUER_ANNOTATION.to_string(), issuer.clone());
    }
    let annotations = Some(annotations);
    let tls = settings.tls.then(|| {
        vec![IngressTLS {
            hosts: Some(vec![host.clone()]),
            secret_name: settings
                .cluster_issuer
                .as_ref()
                .map(|_| TLS_SECRET.to_string()),
        }]
    });
    Some(Ingress {
        metadata: ObjectMeta {
            annotations,
            ..child_metadata(project, NAME, NAME)
        },
        spec: Some(IngressSpec {
            ingress_class_name: settings.class_name.clone(),
            tls,
            rules: Some(vec![IngressRule {
                host: Some(host),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some("/".to_string()),
                        path_type: "Prefix".to_string(),
                        backend: IngressBackend {
                            service: Some(IngressServiceBackend {
                                name: gateway::NAME.to_string(),
                                port: Some(ServiceBackendPort {
                                    number: Some(gateway::PORT),
                                    name: None,
                                }),
                            }),
                            resource: None,
                        },
                    }],
                }),
            }]),
            ..Default::default()
        }),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use supaplane_crds::Project;

    #[test]
    fn routes_the_project_host_to_the_gateway() {
        let settings = IngressSettings {
            base_domain: "apps.example.com".into(),
            class_name: Some("nginx".into()),
            ..Default::default()
        };
        let ingress = render(&Project::test("abc"), &settings).expect("ingress");
        let spec = ingress.spec.expect("spec");
        assert_eq!(spec.ingress_class_name.as_deref(), Some("nginx"));
        let rule = &spec.rules.expect("rules")[0];
        assert_eq!(rule.host.as_deref(), Some("abc.apps.example.com"));
        let backend = rule.http.as_ref().expect("http").paths[0]
            .backend
            .service
            .clone()
            .expect("service");
        assert_eq!(backend.name, gateway::NAME);
        assert_eq!(backend.port.and_then(|p| p.number), Some(gateway::PORT));
        assert!(spec.tls.is_none());
        assert_eq!(settings.api_url("abc"), "http://abc.apps.example.com");
    }

    #[test]
    fn tls_uses_the_issuer_when_one_is_configured() {
        let with_issuer = IngressSettings {
            tls: true,
            cluster_issuer: Some("letsencrypt".into()),
            ..Default::default()
        };
        let ingress = render(&Project::test("abc"), &with_issuer).expect("ingress");
        assert_eq!(
            ingress.metadata.annotations.expect("annotations")[CERT_MANAGER_ISSUER_ANNOTATION],
            "letsencrypt"
        );
        let tls = &ingress.spec.expect("spec").tls.expect("tls")[0];
        assert_eq!(tls.secret_name.as_deref(), Some(TLS_SECRET));
        assert_eq!(
            with_issuer.api_url("abc"),
            "https://abc.supaplane.localhost"
        );

        let default_certificate = IngressSettings {
            tls: true,
            ..Default::default()
        };
        let ingress = render(&Project::test("abc"), &default_certificate).expect("ingress");
        assert!(
            !ingress
                .metadata
                .annotations
                .unwrap_or_default()
                .contains_key(CERT_MANAGER_ISSUER_ANNOTATION)
        );
        let tls = &ingress.spec.expect("spec").tls.expect("tls")[0];
        assert_eq!(tls.secret_name, None);
    }

    #[test]
    fn uploads_up_to_the_storage_limit_pass_the_ingress() {
        let mut project = Project::test("abc");
        let body_size = |project: &Project| {
            render(project, &IngressSettings::default())
                .expect("ingress")
                .metadata
                .annotations
                .expect("annotations")[NGINX_BODY_SIZE_ANNOTATION]
                .clone()
        };
        // The default 50 MiB limit, and room for the multipart framing.
        assert_eq!(body_size(&project), "51m");
        project.spec.storage.file_size_limit_bytes = Some(500 * 1024 * 1024 + 1);
        assert_eq!(body_size(&project), "502m");
    }

    #[test]
    fn no_gateway_no_ingress() {
        let mut project = Project::test("abc");
        project.spec.components.gateway.enabled = false;
        assert!(render(&project, &IngressSettings::default()).is_none());
    }
}
