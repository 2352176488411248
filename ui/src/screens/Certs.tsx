// Client certificates of a thing (`/certs`): list, issue (the private key is shown once),
// revoke.

import { useState } from "preact/hooks";
import { type Entity, call, errorText, list, url } from "../api";
import { useDebounced, useLoad } from "../usePage";
import { Field } from "../components/Field";
import { Failure } from "../components/Failure";
import { CopyButton } from "../components/CopyButton";
import { ConfirmButton } from "../components/Confirm";

interface CertSummary {
  serial: string;
  expire: string;
  revoked: boolean;
  revocation_time?: string | null;
}

interface Issued {
  serial: string;
  client_cert: string;
  client_key: string;
  issuing_ca: string;
  expire: string;
}

export function Certs() {
  const [search, setSearch] = useState("");
  const [thing, setThing] = useState<Entity | null>(null);
  const name = useDebounced(search);
  const things = useLoad(() => list("things", { offset: 0, limit: 10, name }), [name]);
  return (
    <section>
      <h1>Certificates</h1>
      <Field label="Find a thing by name" value={search} onInput={setSearch} />
      <Failure error={things.error} />
      <ul class="picklist">
        {things.data?.items.map((t) => (
          <li key={t.id}>
            <button type="button" class="link" aria-pressed={thing?.id === t.id} onClick={() => setThing(t)}>
              {t.name || "(no name)"}
            </button>{" "}
            <span class="mono small">{t.id}</span>
          </li>
        ))}
      </ul>
      {thing && <ThingCerts key={thing.id} thing={thing} />}
    </section>
  );
}

function ThingCerts({ thing }: { thing: Entity }) {
  const [validity, setValidity] = useState("8760h");
  const [keyType, setKeyType] = useState("ecdsa");
  const [issued, setIssued] = useState<Issued | null>(null);
  const [error, setError] = useState<string | null>(null);
  const certs = useLoad(() => call<{ total: number; certs: CertSummary[] }>("GET", url(`/certs/${thing.id}`, { limit: 100 })), [thing.id]);

  async function issue(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      setIssued(await call<Issued>("POST", "/certs", { thing_id: thing.id, key_type: keyType, valid: validity }));
      certs.reload();
    } catch (e) {
      setError(errorText(e));
    }
  }
  async function revoke(serial: string) {
    setError(null);
    try {
      await call("DELETE", `/certs/${serial}`);
      certs.reload();
    } catch (e) {
      setError(errorText(e));
    }
  }
  return (
    <section class="panel" aria-labelledby="certs-title">
      <h2 id="certs-title">Certificates of {thing.name || thing.id}</h2>
      <form onSubmit={issue} class="row" aria-label="Issue a certificate">
        <Field label="Valid for" value={validity} onInput={setValidity} hint="Hours, minutes, seconds: 8760h, 30m." />
        <div class="field">
          <label for="key-type">Key type</label>
          <select id="key-type" value={keyType} onChange={(e) => setKeyType((e.target as HTMLSelectElement).value)}>
            <option value="ecdsa">ECDSA P-256</option>
            <option value="rsa">RSA 2048</option>
          </select>
        </div>
        <button type="submit">Issue certificate</button>
      </form>
      <Failure error={error ?? certs.error} />
      {issued && (
        <div class="notice">
          <p>
            Certificate {issued.serial} issued. Its private key is shown this once: copy it now.
          </p>
          <div class="row">
            <CopyButton text={issued.client_cert} label="Copy certificate" />
            <CopyButton text={issued.client_key} label="Copy private key" />
            <CopyButton text={issued.issuing_ca} label="Copy CA" />
          </div>
        </div>
      )}
      {certs.data && certs.data.certs.length === 0 && <p>No certificates.</p>}
      <ul class="picklist">
        {certs.data?.certs.map((cert) => (
          <li key={cert.serial}>
            <span class="mono small">{cert.serial}</span> · expires {new Date(cert.expire).toLocaleDateString("en-GB")} ·{" "}
            {cert.revoked ? (
              <strong>revoked</strong>
            ) : (
              <ConfirmButton label="Revoke" question={`Revoke certificate ${cert.serial}? The device is refused at its next handshake.`} confirm="Revoke" onConfirm={() => revoke(cert.serial)} />
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
