// SPDX-License-Identifier: Apache-2.0
//
// makePdf(): a small, valid PDF made in memory (correct xref offsets), with
// one line of Helvetica text per page, so tests need no binary fixtures.
export function makePdf({ pages = 1, text = 'mintfax test page', width = 612, height = 792 } = {}) {
    const objects = [];   // object bodies; object n is objects[n - 1]
    const add = (body) => { objects.push(body); return objects.length; };
    const catalog = add(null);
    const pagesObj = add(null);
    const font = add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
    const kids = [];
    for (let i = 1; i <= pages; i++) {
        const line = `${text} ${i}/${pages}`.replace(/[\\()]/g, (c) => `\\${c}`);
        const stream = `BT /F1 24 Tf 72 ${height - 108} Td (${line}) Tj ET\n` +
            `0 0 0 RG 4 w 72 72 m ${width - 72} ${height - 144} l S\n`;
        const content = add(`<< /Length ${Buffer.byteLength(stream, 'latin1')} >>\nstream\n${stream}endstream`);
        kids.push(add(`<< /Type /Page /Parent ${pagesObj} 0 R /MediaBox [0 0 ${width} ${height}] ` +
            `/Resources << /Font << /F1 ${font} 0 R >> >> /Contents ${content} 0 R >>`));
    }
    objects[catalog - 1] = `<< /Type /Catalog /Pages ${pagesObj} 0 R >>`;
    objects[pagesObj - 1] = `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(' ')}] /Count ${pages} >>`;

    let out = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
    const offsets = [];
    objects.forEach((body, i) => {
        offsets.push(Buffer.byteLength(out, 'latin1'));
        out += `${i + 1} 0 obj\n${body}\nendobj\n`;
    });
    const xref = Buffer.byteLength(out, 'latin1');
    out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
    for (const off of offsets) out += `${String(off).padStart(10, '0')} 00000 n \n`;
    out += `trailer\n<< /Size ${objects.length + 1} /Root ${catalog} 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
    return Buffer.from(out, 'latin1');
}
