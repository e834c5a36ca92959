import { generateKeyPairSync, randomBytes } from "node:crypto";
import forge from "node-forge";

/** A certificate and its key, in the forms the registry config and Node's TLS/crypto take. */
export interface IssuedCert {
  certPem: string;
  keyPem: string;
  /** DER, base64 (standard alphabet): what a JWT `x5c` header carries. */
  certDerBase64: string;
}

export interface TestCa {
  certPem: string;
  /** Issues a leaf certificate signed by this CA. */
  issue(options: { commonName: string; ips?: string[]; dnsNames?: string[] }): IssuedCert;
}

/** RSA keys come from node:crypto (OpenSSL), which is far faster than forge's pure-JS generator. */
function rsaKeyPair(): {
  privateKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
  keyPem: string;
} {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const priv = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const pub = forge.pki.setRsaPublicKey(priv.n, priv.e);
  return { privateKey: priv, publicKey: pub, keyPem };
}

function serial(): string {
  // Positive: Go's x509 rejects negative serial numbers.
  return `01${randomBytes(15).toString("hex")}`;
}

function validity(cert: forge.pki.Certificate): void {
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(now + 24 * 60 * 60 * 1000);
}

/**
 * A throwaway certificate authority for tests: the TLS registry's server certificate and the token
 * issuer's signing certificate both chain to it. SHA-256 signatures and subjectAltNames, since Go
 * (the registry) refuses SHA-1 and ignores the common name.
 */
export function makeTestCa(name = "pulumi-distroless test CA"): TestCa {
  const ca = rsaKeyPair();
  const caCert = forge.pki.createCertificate();
  caCert.publicKey = ca.publicKey;
  caCert.serialNumber = serial();
  validity(caCert);
  const caSubject = [{ name: "commonName", value: name }];
  caCert.setSubject(caSubject);
  caCert.setIssuer(caSubject);
  caCert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  caCert.sign(ca.privateKey, forge.md.sha256.create());

  return {
    certPem: forge.pki.certificateToPem(caCert),
    issue({ commonName, ips = [], dnsNames = [] }) {
      const leaf = rsaKeyPair();
      const cert = forge.pki.createCertificate();
      cert.publicKey = leaf.publicKey;
      cert.serialNumber = serial();
      validity(cert);
      cert.setSubject([{ name: "commonName", value: commonName }]);
      cert.setIssuer(caSubject);
      const altNames = [
        ...dnsNames.map((value) => ({ type: 2, value })),
        ...ips.map((ip) => ({ type: 7, ip })),
      ];
      cert.setExtensions([
        { name: "basicConstraints", cA: false },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
        { name: "extKeyUsage", serverAuth: true, clientAuth: true },
        ...(altNames.length > 0 ? [{ name: "subjectAltName", altNames }] : []),
        { name: "authorityKeyIdentifier", keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
      ]);
      cert.sign(ca.privateKey, forge.md.sha256.create());
      const der = forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes();
      return {
        certPem: forge.pki.certificateToPem(cert),
        keyPem: leaf.keyPem,
        certDerBase64: forge.util.encode64(der),
      };
    },
  };
}
